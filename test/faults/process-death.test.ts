import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { describe, it } from 'node:test';
import { faultScenario } from '../helpers/fault-scenario.js';
import { childrenOf, embeddedPids, leftovers, produce } from '../helpers/installation.js';
import { commandLine } from '../../src/infra/processes.js';

// Issue 12, scenarios 1 and 2: Hookline's own process dies (kill -9) or is signalled through npm.
describe('the death of the Hookline process', () => {
  const fault = faultScenario();
  let endpointId: string;
  const accepted: string[] = [];

  it('stops PostgreSQL and the dev server by itself when its Node process is killed with -9', async () => {
    const { inst } = fault;
    const current = await fault.start();
    endpointId = await fault.faultEndpoint({
      retryConfig: { strategy: 'fixed', baseDelay: 1000, maxAttempts: 50 },
    });
    const load = produce(current, inst, { perSecond: 10, total: 20 });
    await load.stop();
    assert.equal(load.accepted.length, 20);
    accepted.push(...load.accepted);
    const { postgres, temporal } = embeddedPids(inst);
    assert.ok(postgres && temporal, 'both embedded parts run');

    current.child.kill('SIGKILL');
    await current.exited;
    const killedAt = Date.now();
    await fault.noLeftovers(20_000);
    process.stdout.write(`# kill -9: embedded parts gone ${Date.now() - killedAt} ms after\n`);
  });

  it('comes up again on `npm start` after a kill -9 that left PostgreSQL and the dev server orphaned, and delivers', async () => {
    const { inst } = fault;
    let current = await fault.start();
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
    fault.track(orphans.postgres, orphans.temporal);

    const started = Date.now();
    current = await fault.start({ viaNpm: true });
    process.stdout.write(`# npm start over orphans: running after ${Date.now() - started} ms\n`);
    assert.match(current.output(), /left over by an earlier run/, 'says it stopped the leftovers');
    const now = embeddedPids(inst);
    assert.notEqual(now.postgres, orphans.postgres, 'a new PostgreSQL');
    assert.notEqual(now.temporal, orphans.temporal, 'a new dev server');

    const load = produce(current, inst, { perSecond: 10, total: 20 });
    await load.stop();
    assert.equal(load.accepted.length, 20);
    accepted.push(...load.accepted);
    await fault.allDelivered(accepted, endpointId, 90_000);
    process.stdout.write(`# ${accepted.length} accepted events, all delivered\n`);
  });

  it('leaves no process behind when the `npm start` PID gets SIGTERM', async () => {
    const current = fault.proc;
    assert.ok(current);
    const stopping = Date.now();
    process.kill(current.pid, 'SIGTERM');
    await current.exited;
    await fault.noLeftovers(15_000);
    process.stdout.write(`# SIGTERM to npm: everything gone after ${Date.now() - stopping} ms\n`);
    assert.match(current.output(), /hookline: stopped/);
  });

  it('stops in order on Ctrl-C under `npm start` (SIGINT to the whole group: npm and Node) and leaves nothing', async () => {
    const current = await fault.start({ viaNpm: true, ownGroup: true });
    const stopping = Date.now();
    process.kill(-current.pid, 'SIGINT'); // what a terminal does: npm forwards it too, so Node gets two
    await current.exited;
    await fault.noLeftovers(15_000);
    process.stdout.write(`# Ctrl-C to the npm group: everything gone after ${Date.now() - stopping} ms\n`);
    assert.match(current.output(), /hookline: stopped/, 'a graceful stop');
    assert.doesNotMatch(current.output(), /second SIGINT/, 'the two copies of one Ctrl-C count once');
  });

  it('names the port and the process that holds it when that process is not Hookline', async () => {
    const { inst, known } = fault;
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(inst.postgresPort, '127.0.0.1', resolve));
    try {
      const proc = await fault.start({ waitRunning: false });
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
