import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  call,
  embeddedPids,
  leftovers,
  newInstallation,
  postgresTree,
  produce,
  webhookIds,
  type HooklineProcess,
  type Installation,
  signalAll,
  startTracked,
  cleanUpInstallation,
} from '../helpers/installation.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { waitUntil } from '../helpers/wait.js';

const GRACE_MS = 10_000;

// Issue 12, scenario 3: a stop is bounded by HOOKLINE_SHUTDOWN_GRACE_MS whatever is down, a
// second signal stops at once, and what was not finished is delivered after the next start.
describe('shutdown while a dependency is down', () => {
  let inst: Installation;
  let receiver: Receiver;
  let proc: HooklineProcess;
  let endpointId: string;
  const known: number[] = [];
  const accepted: string[] = [];
  let frozen: number[] = [];

  const start = async () => {
    proc = await startTracked(inst, known);
  };

  before(async () => {
    receiver = await startReceiver();
    inst = await newInstallation({ HOOKLINE_SHUTDOWN_GRACE_MS: String(GRACE_MS) });
    await start();
    const ep = await call(proc, inst, 'POST', '/api/endpoints', {
      name: 'fault',
      url: `${receiver.url}/fault`,
      events: ['*'],
      timeout: 60_000,
      retryConfig: { strategy: 'fixed', baseDelay: 1000, maxAttempts: 50 },
    });
    assert.equal(ep.status, 201, JSON.stringify(ep.body));
    endpointId = ep.body.id;
  });

  after(async () => {
    signalAll(frozen, 'SIGCONT');
    await cleanUpInstallation(proc, inst, known);
    await receiver?.close();
  });

  const noLeftovers = () =>
    waitUntil(async () => leftovers(inst, known).length === 0, 20_000).catch(() => {
      throw new Error(`left behind:\n${leftovers(inst, known).join('\n')}`);
    });

  it('exits within the grace after SIGTERM while PostgreSQL is frozen and deliveries are in flight', async () => {
    // The receiver holds every request 30 s: deliveries are running when the stop begins.
    receiver.delay('/fault', 30_000);
    const load = produce(proc, inst, { perSecond: 10, total: 20 });
    await load.stop();
    accepted.push(...load.accepted);
    await receiver.waitFor(5, { path: '/fault' });
    frozen = postgresTree(embeddedPids(inst).postgres!);
    signalAll(frozen, 'SIGSTOP');

    const stopping = Date.now();
    process.kill(proc.pid, 'SIGTERM');
    const { code } = await proc.exited;
    const took = Date.now() - stopping;
    const cut = proc
      .output()
      .split('\n')
      .filter((l) => l.includes('"msg":"stop failed"'))
      .map((l) => /"part":"([^"]+)"/.exec(l)?.[1]);
    process.stdout.write(
      `# SIGTERM with PostgreSQL frozen: exited (code ${code}) after ${took} ms, grace ${GRACE_MS} ms; ` +
        `steps cut short: ${cut.join(', ') || 'none'}\n`,
    );
    assert.ok(took <= GRACE_MS + 8_000, `took ${took} ms`);

    signalAll(frozen, 'SIGCONT'); // the freeze ends; the server must still go (its watchdog)
    frozen = [];
    await noLeftovers();
  });

  it('stops at once on a second signal', async () => {
    receiver.delay('/fault', 0);
    await start();
    receiver.delay('/fault', 30_000);
    const load = produce(proc, inst, { perSecond: 10, total: 10 });
    await load.stop();
    accepted.push(...load.accepted);
    process.kill(proc.pid, 'SIGTERM');
    await new Promise((r) => setTimeout(r, 1000));
    const second = Date.now();
    process.kill(proc.pid, 'SIGINT');
    const { code } = await proc.exited;
    const took = Date.now() - second;
    process.stdout.write(`# second signal: exited (code ${code}) ${took} ms after it\n`);
    assert.ok(took <= 2_000, `took ${took} ms`);
    assert.notEqual(code, 0);
    await noLeftovers();
  });

  it('delivers every accepted event after the next start', async () => {
    receiver.delay('/fault', 0);
    await start();
    const expected = accepted.map((id) => `msg_${id}_${endpointId}`);
    await waitUntil(async () => expected.every((id) => webhookIds(receiver.received).has(id)), 150_000).catch(
      () => {
        const got = webhookIds(receiver.received);
        throw new Error(
          `not delivered: ${expected.filter((id) => !got.has(id)).length} of ${expected.length}`,
        );
      },
    );
    process.kill(proc.pid, 'SIGTERM');
    await proc.exited;
    await noLeftovers();
  });
});
