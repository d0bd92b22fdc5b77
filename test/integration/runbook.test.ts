// #17: the README's runbook ("In Temporal's UI and CLI") is run line by line, as an operator runs
// it, against the real stack (dev server, PostgreSQL, worker, API), and Hookline's API is checked
// after every line that changes something. The test reads the README's code block and knows every
// line of it by its exact text (RUNBOOK below): a line the table does not know, or a table entry
// the README lacks, fails the test, so the README and the test cannot drift apart.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { requireBinary } from '../../src/temporal/binaries.js';
import type { Receiver } from '../helpers/receiver.js';
import {
  api,
  startStackAndReceiver,
  stopStackAndReceiver,
  workflowResult,
  type TestStack,
} from '../helpers/stack.js';
import { waitUntil } from '../helpers/wait.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The command lines of the README's runbook block, `\` continuations joined into one line. */
export function runbookLines(readme: string): string[] {
  const section = readme.split(/^### In Temporal's UI and CLI$/m)[1]?.split(/^#{1,3} /m)[0];
  assert.ok(section, 'README.md has the section "In Temporal\'s UI and CLI"');
  const block = /^```sh\n([\s\S]*?)^```$/m.exec(section)?.[1];
  assert.ok(block, 'the section has a ```sh code block');
  const lines: string[] = [];
  let pending = '';
  for (const raw of block.split('\n')) {
    if (!raw.trim()) continue;
    const joined = pending ? `${pending} ${raw.trim()}` : raw.trimEnd();
    if (joined.endsWith('\\')) pending = joined.slice(0, -1).trimEnd();
    else {
      lines.push(joined);
      pending = '';
    }
  }
  assert.equal(pending, '', 'the block does not end in a continuation');
  return lines;
}

/** The ids of the scenario the runbook's lines are run on. */
interface Scenario {
  /** Dead-lettered deliveries (fixed 200 ms, 2 attempts): one for each single reset. */
  epDead: string;
  evLast: string;
  evFirst: string;
  /** Two dead-lettered deliveries of one endpoint (1 attempt): the batch reset. */
  epBatch: string;
  evBatch: [string, string];
  /** Deliveries waiting 60 s between attempts: terminate, cancel, and a batch cancel of an event. */
  epTerm: string;
  evTerm: string;
  epCancel: string;
  evCancel: string;
  epBulk: [string, string];
  evBulk: string;
}

interface Ids {
  evt?: string;
  ep?: string;
}

/** A workflow whose tasks fail, for the line that finds such runs. */
const STUCK = 'runbook:stuck';

const delivery = (evt: string, ep: string) => `delivery:${evt}:${ep}`;

describe("the README's runbook, run as an operator runs it", () => {
  let stack: TestStack;
  let receiver: Receiver;
  let s: Scenario;
  const cli = requireBinary('cli');

  /** One line through bash, with T, TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE set as an operator sets them. */
  async function sh(line: string, env: Record<string, string | undefined> = {}) {
    return new Promise<string>((resolve, reject) => {
      execFile(
        'bash',
        ['-c', line],
        {
          cwd: ROOT,
          timeout: 120_000,
          maxBuffer: 16 * 1024 * 1024,
          env: {
            ...process.env,
            T: cli,
            TEMPORAL_ADDRESS: stack.platform.temporalAddress,
            TEMPORAL_NAMESPACE: stack.config.temporalNamespace,
            ...env,
          },
        },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`\`${line}\` failed (${err.message}):\n${stdout}\n${stderr}`));
          else resolve(stdout);
        },
      );
    });
  }

  async function endpoint(name: string, events: string[], retryConfig: Record<string, unknown>) {
    const r = await api(stack, 'POST', '/api/endpoints', {
      name,
      url: `${receiver.url}/${name}`,
      events,
      retryConfig,
      circuitBreaker: { threshold: 100 },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    receiver.respond(`/${name}`, 500);
    return r.body.id as string;
  }
  async function send(type: string) {
    const r = await api(stack, 'POST', '/api/events', { type, payload: { runbook: true } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return r.body.eventId as string;
  }
  const eventOf = async (id: string) => (await api(stack, 'GET', `/api/events/${id}`)).body;
  const deliveryOf = async (evt: string, ep: string) =>
    ((await eventOf(evt)).deliveries as Array<Record<string, any>>).find((d) => d.id === delivery(evt, ep));
  const deadLetters = async (ep: string, resolved: boolean) =>
    (await api(stack, 'GET', `/api/dead-letters?endpointId=${ep}&resolved=${resolved}`)).body.data as Array<
      Record<string, any>
    >;
  const count = async (query: string) => (await stack.platform.temporal.workflow.count(query)).count;

  /** The delivery and its event, as Hookline's API shows them once they have settled. */
  async function settles(evt: string, ep: string, status: string, eventStatus: string) {
    await waitUntil(async () => (await deliveryOf(evt, ep))?.status === status, 20_000);
    await waitUntil(async () => (await eventOf(evt)).status === eventStatus, 20_000);
    return deliveryOf(evt, ep);
  }
  const progressOf = async (evt: string) => (await eventOf(evt)).progress as Record<string, number>;

  /** After a reset: delivered, the dead letter resolved by the reset, the event delivered. */
  async function resetDelivered(evt: string, ep: string) {
    await settles(evt, ep, 'delivered', 'delivered');
    const resolved = (await deadLetters(ep, true)).filter((l) => l.deliveryId === delivery(evt, ep));
    assert.equal(resolved.length, 1, 'the dead letter is listed as resolved');
    assert.equal(resolved[0]!.resolution, 'delivered');
    assert.equal(resolved[0]!.resolvedVia, 'reset');
    assert.ok(resolved[0]!.resolvedAt);
    assert.equal(
      (await deadLetters(ep, false)).filter((l) => l.deliveryId === delivery(evt, ep)).length,
      0,
      'and not as unresolved',
    );
    assert.deepEqual(await progressOf(evt), {
      pending: 0,
      active: 0,
      delivered: 1,
      failed: 0,
      terminated: 0,
      cancelled: 0,
    });
  }

  /** After a terminate or a cancel: the delivery says so, with who and why, and has a dead letter. */
  async function stopped(evt: string, ep: string, kind: 'terminated' | 'cancelled', reason: RegExp) {
    const d = await settles(evt, ep, kind, 'failed');
    assert.match(d!.stopReason, reason);
    assert.ok(d!.stoppedBy, 'who stopped it');
    const [letter] = (await deadLetters(ep, false)).filter((l) => l.deliveryId === delivery(evt, ep));
    assert.equal(letter?.kind, kind, 'a replayable dead letter of its kind');
    assert.equal(letter!.stoppedBy, d!.stoppedBy);
    return d!;
  }

  /**
   * Every line of the README's block: the ids its placeholders stand for, and what must hold after
   * it ran (given its output). Keyed by the line's exact text; the test runs them in README order.
   */
  const RUNBOOK: Record<
    string,
    {
      /** The ids its placeholders stand for. */
      ids: () => Ids;
      /** A read-only line (list, count, describe, query): run again until its check holds, as visibility lags. */
      reads?: true;
      /** Done before the line runs (the receiver fixed). */
      prepare?: () => Promise<unknown> | void;
      /** What must hold once the line ran, given its output. */
      check: (out: string) => Promise<void>;
    }
  > = {
    'T=.tools/temporal/bin/temporal   # or any temporal CLI; another cluster: set TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE':
      {
        ids: () => ({}),
        check: async (out) => assert.match(out, /^temporal version /),
      },
    '$T workflow list --query \'HooklineDeliveryStatus = "dead_lettered"\'': {
      ids: () => ({}),
      reads: true,
      check: async (out) => {
        for (const evt of [s.evLast, s.evFirst]) assert.ok(out.includes(delivery(evt, s.epDead)), out);
        for (const evt of s.evBatch) assert.ok(out.includes(delivery(evt, s.epBatch)), out);
      },
    },
    '$T workflow list --query \'HooklineEndpointId = "ep_…" AND ExecutionStatus = "Running"\'': {
      ids: () => ({ ep: s.epTerm }),
      reads: true,
      check: async (out) => assert.ok(out.includes(delivery(s.evTerm, s.epTerm)), out),
    },
    "$T workflow list --query 'TemporalReportedProblems IS NOT NULL'": {
      ids: () => ({}),
      reads: true,
      // The run started in `before` whose workflow tasks fail: the line must find it, and none of
      // Hookline's runs.
      check: async (out) => {
        assert.ok(out.includes(STUCK), `the stuck run is listed:\n${out}`);
        assert.ok(!/delivery:|event:|endpoint:/.test(out), `no Hookline run has problems:\n${out}`);
        await stack.platform.temporal.workflow.getHandle(STUCK).terminate('runbook test: done with it');
      },
    },
    "$T workflow describe --workflow-id 'delivery:evt_…:ep_…'": {
      ids: () => ({ evt: s.evFirst, ep: s.epDead }),
      reads: true,
      check: async (out) => {
        assert.ok(out.includes(delivery(s.evFirst, s.epDead)), out);
        assert.match(out, /dead_lettered/);
      },
    },
    "$T workflow query --workflow-id 'delivery:evt_…:ep_…' --type deliveryWorkflow.progress": {
      ids: () => ({ evt: s.evFirst, ep: s.epDead }),
      reads: true,
      check: async (out) => {
        assert.match(out, /"status":\s*"dead_lettered"/);
        assert.match(out, /"attempts":\s*2/);
      },
    },
    "$T workflow query --workflow-id 'endpoint:ep_…' --type endpointWorkflow.state": {
      ids: () => ({ ep: s.epDead }),
      reads: true,
      check: async (out) => assert.match(out, /"state":\s*"closed"/),
    },
    "$T workflow query --workflow-id 'event:evt_…' --type eventWorkflow.fanout": {
      ids: () => ({ evt: s.evBulk }),
      reads: true,
      check: async (out) => {
        assert.match(out, /"matched":\s*2/);
        assert.match(out, /"started":\s*2/);
      },
    },
    "$T workflow reset --workflow-id 'delivery:evt_…:ep_…' --type LastWorkflowTask --reason 'retry after fix'":
      {
        ids: () => ({ evt: s.evLast, ep: s.epDead }),
        prepare: () => receiver.respond(`/rb-dead`, 200),
        check: async () => resetDelivered(s.evLast, s.epDead),
      },
    "$T workflow reset --workflow-id 'delivery:evt_…:ep_…' --type FirstWorkflowTask --reason 'endpoint fixed'":
      {
        ids: () => ({ evt: s.evFirst, ep: s.epDead }),
        check: async () => resetDelivered(s.evFirst, s.epDead),
      },
    '$T workflow reset --query \'HooklineEndpointId = "ep_…" AND HooklineDeliveryStatus = "dead_lettered"\' --type FirstWorkflowTask --reason \'endpoint fixed\' --yes':
      {
        ids: () => ({ ep: s.epBatch }),
        prepare: () => receiver.respond(`/rb-batch`, 200),
        check: async () => {
          for (const evt of s.evBatch) await resetDelivered(evt, s.epBatch);
        },
      },
    '$T workflow count --query \'HooklineEventId = "evt_…" AND HooklineDeliveryStatus = "delivered"\'': {
      ids: () => ({ evt: s.evFirst }),
      reads: true,
      check: async (out) => assert.match(out, /^Total: 1$/m),
    },
    "$T workflow terminate --workflow-id 'delivery:evt_…:ep_…' --reason 'operator gave up'": {
      ids: () => ({ evt: s.evTerm, ep: s.epTerm }),
      check: async () => {
        const d = await stopped(
          s.evTerm,
          s.epTerm,
          'terminated',
          /^terminated: operator gave up \(by temporal-cli/,
        );
        assert.match(d.stoppedBy, /temporal-cli/, 'the CLI identity');
        assert.equal((await progressOf(s.evTerm)).terminated, 1);
      },
    },
    "$T workflow cancel --workflow-id 'delivery:evt_…:ep_…'": {
      ids: () => ({ evt: s.evCancel, ep: s.epCancel }),
      check: async () => {
        const d = await stopped(
          s.evCancel,
          s.epCancel,
          'cancelled',
          /^cancelled: no reason given \(by temporal-cli/,
        );
        assert.match(d.stoppedBy, /temporal-cli/, 'the CLI identity');
        assert.equal((await progressOf(s.evCancel)).cancelled, 1);
      },
    },
    '$T workflow cancel --query \'WorkflowType = "deliveryWorkflow" AND HooklineEventId = "evt_…" AND ExecutionStatus = "Running"\' --reason \'bad event\' --yes':
      {
        ids: () => ({ evt: s.evBulk }),
        check: async () => {
          // The server's batcher sends each cancel without the batch's reason, under its own identity.
          for (const ep of s.epBulk) await stopped(s.evBulk, ep, 'cancelled', /^cancelled: /);
          assert.equal((await progressOf(s.evBulk)).cancelled, 2);
        },
      },
    '$T workflow list --query \'ExecutionStatus = "Terminated" AND WorkflowType = "deliveryWorkflow"\'': {
      ids: () => ({}),
      reads: true,
      check: async (out) => assert.ok(out.includes(delivery(s.evTerm, s.epTerm)), out),
    },
    "npm run replay -- 'delivery:evt_…:ep_…'   # replay its history against the current code": {
      ids: () => ({ evt: s.evFirst, ep: s.epDead }),
      check: async (out) =>
        assert.ok(
          out.includes(`replay of ${delivery(s.evFirst, s.epDead)} (`) && out.includes('matches'),
          out,
        ),
    },
  };

  const lines = runbookLines(readFileSync(path.join(ROOT, 'README.md'), 'utf8'));

  before(async () => {
    ({ stack, receiver } = await startStackAndReceiver({ HOOKLINE_RECONCILE_INTERVAL_MS: '500' }));
    // A run whose workflow tasks keep failing (its type is not registered), for the line that finds
    // such runs: Temporal reports it after a few failed tasks, so it starts first.
    await stack.platform.temporal.workflow.start('runbookNoSuchWorkflow', {
      workflowId: STUCK,
      taskQueue: stack.config.temporalTaskQueue,
    });
    const quick = { strategy: 'fixed', baseDelay: 200 };
    const slow = { strategy: 'fixed', baseDelay: 60_000, maxAttempts: 10 };
    const epDead = await endpoint('rb-dead', ['rbdead.*'], { ...quick, maxAttempts: 2 });
    const epBatch = await endpoint('rb-batch', ['rbbatch.*'], { ...quick, maxAttempts: 1 });
    const epTerm = await endpoint('rb-term', ['rbterm.*'], slow);
    const epCancel = await endpoint('rb-cancel', ['rbcancel.*'], slow);
    const epBulk: [string, string] = [
      await endpoint('rb-bulk-a', ['rbbulk.*'], slow),
      await endpoint('rb-bulk-b', ['rbbulk.*'], slow),
    ];
    s = {
      epDead,
      evLast: await send('rbdead.last'),
      evFirst: await send('rbdead.first'),
      epBatch,
      evBatch: [await send('rbbatch.one'), await send('rbbatch.two')],
      epTerm,
      evTerm: await send('rbterm.happened'),
      epCancel,
      evCancel: await send('rbcancel.happened'),
      epBulk,
      evBulk: await send('rbbulk.happened'),
    };
    for (const evt of [s.evLast, s.evFirst])
      assert.equal((await workflowResult(stack, delivery(evt, epDead))).status, 'dead_lettered');
    for (const evt of s.evBatch)
      assert.equal((await workflowResult(stack, delivery(evt, epBatch))).status, 'dead_lettered');
    for (const [evt, ep] of [
      [s.evTerm, epTerm],
      [s.evCancel, epCancel],
      [s.evBulk, epBulk[0]],
      [s.evBulk, epBulk[1]],
    ] as const)
      await waitUntil(async () => (await deliveryOf(evt, ep))?.status === 'retrying', 20_000);
    for (const evt of [s.evLast, s.evFirst, ...s.evBatch])
      await waitUntil(async () => (await eventOf(evt)).status === 'failed', 20_000);
    // What the operator's queries will find, once visibility has it.
    await waitUntil(async () => (await count(`HooklineDeliveryStatus = "dead_lettered"`)) === 4, 20_000);
    await waitUntil(
      async () => (await count(`HooklineEventId = "${s.evBulk}" AND ExecutionStatus = "Running"`)) === 2,
      20_000,
    );
  });
  after(() => stopStackAndReceiver(stack, receiver));

  it('the README block and the table know the same lines', () => {
    const known = Object.keys(RUNBOOK);
    assert.deepEqual(
      {
        'README lines the table does not know (add them to RUNBOOK)': lines.filter((l) => !known.includes(l)),
        'table lines the README lacks (the README changed, or the table is stale)': known.filter(
          (l) => !lines.includes(l),
        ),
      },
      {
        'README lines the table does not know (add them to RUNBOOK)': [],
        'table lines the README lacks (the README changed, or the table is stale)': [],
      },
    );
  });

  for (const line of lines) {
    it(line, async () => {
      const step = RUNBOOK[line];
      assert.ok(step, 'this README line is in the table');
      const { evt, ep } = step.ids();
      let command = line;
      if (evt) command = command.replaceAll('evt_…', evt);
      if (ep) command = command.replaceAll('ep_…', ep);
      assert.ok(!command.includes('…'), `every placeholder has an id: ${command}`);
      await step.prepare?.();
      // The T= line is run as written (from the project's root), then the CLI it names.
      const run = () =>
        line.startsWith('T=') ? sh(`${command}\n"$T" --version`, { T: undefined }) : sh(command);
      if (!step.reads) return step.check(await run());
      const deadline = Date.now() + 30_000;
      for (;;) {
        const out = await run();
        try {
          return await step.check(out);
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    });
  }
});
