import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * The processes Hookline starts itself (embedded PostgreSQL, the Temporal dev server) and what it
 * needs to never leave one behind: a watchdog that stops a child when Hookline dies (even by
 * kill -9), a way to recognise a live leftover of an earlier run by its command line, and the
 * name of a foreign process that holds a port we need. Linux (/proc); elsewhere the lookups
 * degrade to "unknown".
 */

/** The command line of a live process, or undefined when it is gone (or a zombie). */
export function commandLine(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/\)\s+Z\s/.test(stat)) return undefined; // exited, not yet reaped
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    try {
      process.kill(pid, 0);
      return []; // alive, command line unreadable
    } catch {
      return undefined;
    }
  }
}

export const isAlive = (pid: number) => commandLine(pid) !== undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends `signal`, waits up to `timeoutMs` for the process to go, then SIGKILLs it. */
export async function stopProcess(pid: number, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
  const send = (s: NodeJS.Signals) => {
    try {
      process.kill(pid, s);
    } catch {
      // already gone
    }
  };
  send(signal);
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      send('SIGKILL');
      for (let i = 0; i < 50 && isAlive(pid); i++) await sleep(100);
      return;
    }
    await sleep(100);
  }
}

/** Whether `port` can be bound on `host` now. */
export const portIsFree = (port: number, host = '127.0.0.1') =>
  new Promise<boolean>((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });

export interface PortHolder {
  pid: number;
  command: string[];
}

/** The process listening on a TCP port, from /proc/net/tcp{,6} and the processes' socket fds. */
export function portHolder(port: number): PortHolder | undefined {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      if (!local || cols[3] !== '0A') continue; // 0A = LISTEN
      if (Number.parseInt(local.split(':').pop()!, 16) === port && cols[9]) inodes.add(cols[9]);
    }
  }
  if (!inodes.size) return undefined;
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1]!)) return { pid: Number(pid), command: commandLine(Number(pid)) ?? [] };
      } catch {
        // fd closed meanwhile
      }
    }
  }
  return undefined;
}

export class PortInUseError extends Error {
  constructor(
    readonly port: number,
    readonly holder: PortHolder | undefined,
    hint: string,
  ) {
    const who = holder
      ? `process ${holder.pid} (${holder.command.join(' ').slice(0, 200) || 'command unknown'})`
      : 'another process (not identified)';
    super(`port ${port} is held by ${who}, which is not this Hookline's; ${hint}`);
    this.name = 'PortInUseError';
  }
}

/**
 * Makes `ports` free for a part of this Hookline: a live leftover of an earlier run (its pid in
 * `pid`, or a port holder whose command line `isOurs` recognises) is stopped; a foreign holder is
 * an error naming the port and the process.
 */
export async function reclaim(opts: {
  pid?: number | undefined;
  ports: number[];
  isOurs: (command: string[]) => boolean;
  stopSignal: NodeJS.Signals;
  hint: string;
  log?: (message: string) => void;
}): Promise<void> {
  const stopLeftover = async (pid: number, command: string[]) => {
    opts.log?.(`stopping process ${pid} left over by an earlier run (${command.join(' ').slice(0, 120)})`);
    await stopProcess(pid, opts.stopSignal, 15_000);
  };
  if (opts.pid) {
    const command = commandLine(opts.pid);
    if (command && opts.isOurs(command)) await stopLeftover(opts.pid, command);
  }
  for (const port of opts.ports) {
    if (await portIsFree(port)) continue;
    const holder = portHolder(port);
    if (holder && opts.isOurs(holder.command)) {
      await stopLeftover(holder.pid, holder.command);
      if (await portIsFree(port)) continue;
    }
    throw new PortInUseError(port, holder ?? portHolder(port), opts.hint);
  }
}

/**
 * A watchdog for a detached child: a tiny shell that waits on a pipe from this process. When this
 * process dies, however it dies, the pipe closes and the shell stops the child (`signal`, then
 * SIGKILL after 10 s). `dispose()` ends the watchdog (the child exited, or was stopped by us).
 */
export function watchdog(pid: number, signal: NodeJS.Signals): { dispose(): void } {
  const script =
    'read _ignored; kill -s "$2" "$1" 2>/dev/null || exit 0; ' +
    'i=0; while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; ' +
    'kill -s KILL "$1" 2>/dev/null; exit 0';
  const dog = spawn('/bin/sh', ['-c', script, 'hookline-watchdog', String(pid), signal.replace(/^SIG/, '')], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  dog.on('error', () => undefined);
  dog.stdin?.on('error', () => undefined);
  dog.unref();
  (dog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return {
    dispose: () => {
      if (dog.exitCode === null && dog.signalCode === null) dog.kill('SIGKILL');
    },
  };
}

/**
 * Embedded children this process started and how to stop each at once: a second Ctrl-C, or an
 * exit on any path, signals them synchronously (their watchdogs finish the job if needed).
 */
const owned = new Map<ChildProcess, NodeJS.Signals>();

export function own(child: ChildProcess, hardStop: NodeJS.Signals): void {
  owned.set(child, hardStop);
  child.once('exit', () => owned.delete(child));
}

export function stopOwnedNow(): void {
  for (const [child, signal] of owned) {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  }
}

process.once('exit', stopOwnedNow);
