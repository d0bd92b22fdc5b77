import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before } from 'node:test';
import {
  call,
  embeddedPids,
  killLeftovers,
  leftovers,
  newInstallation,
  signalAll,
  startHookline,
  webhookIds,
  type HooklineProcess,
  type Installation,
} from './installation.js';
import { startReceiver, type Receiver } from './receiver.js';
import { waitUntil } from './wait.js';

/** How long `cleanUp` gives a still running Hookline to stop on SIGTERM before it is killed. */
const STOP_BEFORE_KILL_MS = 20_000;

/**
 * What every fault test of one `describe` shares, set up by its `before` and taken down by its
 * `after`: a loopback receiver, an installation (data dir, free ports, keys), the PIDs of what it
 * started (to find leftovers by pid, never by name), and what it froze (thawed at the end).
 */
export interface FaultScenario {
  /** Set by the `before` hook. */
  receiver: Receiver;
  /** Set by the `before` hook. */
  inst: Installation;
  /** The Hookline process started last. */
  proc: HooklineProcess | undefined;
  /** Every PID started for the installation: Hookline's (npm's and Node's), PostgreSQL, the dev server. */
  known: number[];
  /** Starts Hookline and tracks its PIDs and its embedded parts' (those running once it runs). */
  start(opts?: Parameters<typeof startHookline>[1]): Promise<HooklineProcess>;
  /** Tracks PIDs started otherwise (a restarted embedded part, orphans of an earlier run). */
  track(...pids: Array<number | undefined>): void;
  /** SIGSTOPs `pids`; they get SIGCONT from `thaw`, or at the end of the scenario. */
  freeze(pids: number[]): void;
  thaw(): void;
  /** Creates an endpoint for every event type at `<receiver>/fault` (with `fields`), and answers its id. */
  faultEndpoint(fields?: Record<string, unknown>): Promise<string>;
  /** Waits until the receiver got every `accepted` event for `endpointId`, or fails naming how many did not come. */
  allDelivered(accepted: string[], endpointId: string, timeoutMs: number): Promise<void>;
  /** Waits until nothing of the installation runs, or fails listing what was left behind. */
  noLeftovers(timeoutMs: number): Promise<void>;
  /** A stop for something the test started itself; run at the end, last deferred first, before the leftovers are killed. */
  defer(stop: () => Promise<void>): void;
}

export interface FaultScenarioOptions {
  /** Environment of every start of the installation. */
  env?: Record<string, string>;
  /** Starts Hookline in the `before` hook (after the receiver and the installation). */
  start?: boolean;
}

/** Registers the scenario's `before` and `after` hooks in the calling `describe`. */
export function faultScenario({ env = {}, start = false }: FaultScenarioOptions = {}): FaultScenario {
  let frozen: number[] = [];
  const stops: Array<() => Promise<void>> = [];
  const s: FaultScenario = {
    receiver: undefined as unknown as Receiver,
    inst: undefined as unknown as Installation,
    proc: undefined,
    known: [],
    async start(opts) {
      const proc = await startHookline(s.inst, opts);
      s.proc = proc;
      const { postgres, temporal } = embeddedPids(s.inst);
      s.track(proc.pid, proc.child.exitCode === null ? proc.nodePid() : undefined, postgres, temporal);
      return proc;
    },
    track(...pids) {
      for (const pid of pids) if (pid !== undefined && !s.known.includes(pid)) s.known.push(pid);
    },
    freeze(pids) {
      frozen.push(...pids);
      signalAll(pids, 'SIGSTOP');
    },
    thaw() {
      signalAll(frozen, 'SIGCONT');
      frozen = [];
    },
    async faultEndpoint(fields = {}) {
      const ep = await call(s.proc!, s.inst, 'POST', '/api/endpoints', {
        name: 'fault',
        url: `${s.receiver.url}/fault`,
        events: ['*'],
        ...fields,
      });
      assert.equal(ep.status, 201, JSON.stringify(ep.body));
      return ep.body.id as string;
    },
    async allDelivered(accepted, endpointId, timeoutMs) {
      const expected = accepted.map((id) => `msg_${id}_${endpointId}`);
      await waitUntil(
        async () => expected.every((id) => webhookIds(s.receiver.received).has(id)),
        timeoutMs,
      ).catch(() => {
        const got = webhookIds(s.receiver.received);
        throw new Error(
          `not delivered: ${expected.filter((id) => !got.has(id)).length} of ${expected.length}`,
        );
      });
    },
    async noLeftovers(timeoutMs) {
      await waitUntil(async () => leftovers(s.inst, s.known).length === 0, timeoutMs).catch(() => {
        throw new Error(`left behind:\n${leftovers(s.inst, s.known).join('\n')}`);
      });
    },
    defer(stop) {
      stops.push(stop);
    },
  };

  before(async () => {
    s.receiver = await startReceiver();
    s.inst = await newInstallation(env);
    if (start) await s.start();
  });

  // Whatever a failed test left: thawed, stopped (killed if it does not stop), its data removed.
  after(async () => {
    s.thaw();
    for (const stop of stops.reverse()) await stop();
    const proc = s.proc;
    if (proc && proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.child.kill('SIGTERM');
      const stopped = await Promise.race([
        proc.exited.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), STOP_BEFORE_KILL_MS).unref()),
      ]);
      if (!stopped) proc.child.kill('SIGKILL');
    }
    if (s.inst) {
      killLeftovers(s.inst, s.known);
      await rm(s.inst.dataDir, { recursive: true, force: true });
    }
    await s.receiver?.close();
  });
  return s;
}
