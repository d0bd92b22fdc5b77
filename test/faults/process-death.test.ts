import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  call,
  childrenOf,
  embeddedPids,
  killLeftovers,
  leftovers,
  newInstallation,
  produce,
  startHookline,
  webhookIds,
  type HooklineProcess,
  type Installation,
} from '../helpers/installation.js';
import { commandLine } from '../../src/infra/processes.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { waitUntil } from '../helpers/wait.js';

// Issue 12, scenarios 1 and 2: Hookline's own process dies (kill -9) or is signalled through npm.
describe('the death of the Hookline process', () => {
  let inst: Installation;
  let receiver: Receiver;
  let endpointId: string;
  const known: number[] = [];
  const accepted: string[] = [];
  let current: HooklineProcess | undefined;

  const remember = (proc: HooklineProcess) => {
    const { postgres, temporal } = embeddedPids(inst);
    known.push(proc.pid, proc.nodePid(), ...[postgres, temporal].filter((p): p is number => !!p));
  };

  before(async () => {
    receiver = await startReceiver();
    inst = await newInstallation();
  });

  after(async () => {
    if (current && current.child.exitCode === null) current.child.kill('SIGKILL');
    killLeftovers(inst, known);
    await receiver?.close();
    await rm(inst.dataDir, { recursive: true, force: true });
  });

  it('stops PostgreSQL and the dev server by itself when its Node process is killed with -9', async () => {
    current = await startHookline(inst);
    remember(current);
    const ep = await call(current, inst, 'POST', '/api/endpoints', {
      name: 'fault',
      url: `${receiver.url}/fault`,
      events: ['*'],
      retryConfig: { strategy: 'fixed', baseDelay: 1000, maxAttempts: 50 },
    });
    assert.equal(ep.status, 201, JSON.stringify(ep.body));
    endpointId = ep.body.id;
    const load = produce(current, inst, { perSecond: 10, total: 20 });
    await load.stop();
    assert.equal(load.accepted.length, 20);
    accepted.push(...load.accepted);
    const { postgres, temporal } = embeddedPids(inst);
    assert.ok(postgres && temporal, 'both embedded parts run');

    current.child.kill('SIGKILL');
    await current.exited;
    const killedAt = Date.now();
    await waitUntil(async () => leftovers(inst, known).length === 0, 20_000).catch(() => {
      throw new Error(`left behind:\n${leftovers(inst, known).join('\n')}`);
    });
    process.stdout.write(`# kill -9: embedded parts gone ${Date.now() - killedAt} ms after\n`);
  });

  it('comes up again on `npm start` after a kill -9 that left PostgreSQL and the dev server orphaned, and delivers', async () => {
    current = await startHookline(inst);
    remember(current);
    // Kill Node and its watchdogs at once (as an OOM killer of the whole group would): the
    // embedded parts are orphans now, still holding their ports and the data directory's lock.
    const watchdogs = childrenOf(current.nodePid()).filter((pid) =>
      (commandLine(pid) ?? []).includes('hookline-watchdog'),
    );
    assert.equal(watchdogs.length, 2, 'one watchdog per embedded part');
    const orphans = embeddedPids(inst);
    for (const pid of [current.pid, ...watchdogs]) process.kill(pid, 'SIGKILL');
    await current.exited;
    assert.ok(orphans.postgres && orphans.temporal);
    known.push(orphans.postgres, orphans.temporal);

    const started = Date.now();
    current = await startHookline(inst, { viaNpm: true });
    remember(current);
    process.stdout.write(`# npm start over orphans: running after ${Date.now() - started} ms\n`);
    assert.match(current.output(), /left over by an earlier run/, 'says it stopped the leftovers');
    const now = embeddedPids(inst);
    assert.notEqual(now.postgres, orphans.postgres, 'a new PostgreSQL');
    assert.notEqual(now.temporal, orphans.temporal, 'a new dev server');

    const load = produce(current, inst, { perSecond: 10, total: 20 });
    await load.stop();
    assert.equal(load.accepted.length, 20);
    accepted.push(...load.accepted);
    const expected = accepted.map((id) => `msg_${id}_${endpointId}`);
    await waitUntil(async () => expected.every((id) => webhookIds(receiver.received).has(id)), 90_000).catch(
      () => {
        const got = webhookIds(receiver.received);
        throw new Error(`not delivered: ${expected.filter((id) => !got.has(id)).join(', ')}`);
      },
    );
    process.stdout.write(`# ${accepted.length} accepted events, all delivered\n`);
  });

  it('leaves no process behind when the `npm start` PID gets SIGTERM', async () => {
    assert.ok(current);
    const stopping = Date.now();
    process.kill(current.pid, 'SIGTERM');
    await current.exited;
    await waitUntil(async () => leftovers(inst, known).length === 0, 15_000).catch(() => {
      throw new Error(`left behind:\n${leftovers(inst, known).join('\n')}`);
    });
    process.stdout.write(`# SIGTERM to npm: everything gone after ${Date.now() - stopping} ms\n`);
    assert.match(current.output(), /hookline: stopped/);
  });

  it('stops in order on Ctrl-C under `npm start` (SIGINT to the whole group: npm and Node) and leaves nothing', async () => {
    current = await startHookline(inst, { viaNpm: true, ownGroup: true });
    remember(current);
    const stopping = Date.now();
    process.kill(-current.pid, 'SIGINT'); // what a terminal does: npm forwards it too, so Node gets two
    await current.exited;
    await waitUntil(async () => leftovers(inst, known).length === 0, 15_000).catch(() => {
      throw new Error(`left behind:\n${leftovers(inst, known).join('\n')}`);
    });
    process.stdout.write(`# Ctrl-C to the npm group: everything gone after ${Date.now() - stopping} ms\n`);
    assert.match(current.output(), /hookline: stopped/, 'a graceful stop');
    assert.doesNotMatch(current.output(), /second SIGINT/, 'the two copies of one Ctrl-C count once');
  });

  it('names the port and the process that holds it when that process is not Hookline', async () => {
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(inst.postgresPort, '127.0.0.1', resolve));
    try {
      const proc = await startHookline(inst, { waitRunning: false });
      const { code } = await proc.exited;
      assert.equal(code, 1);
      assert.match(
        proc.output(),
        new RegExp(`port ${inst.postgresPort} is held by process ${process.pid} \\(`),
      );
      assert.equal(leftovers(inst, known).length, 0, leftovers(inst, known).join('\n'));
    } finally {
      await new Promise((r) => squatter.close(r));
    }
  });
});
