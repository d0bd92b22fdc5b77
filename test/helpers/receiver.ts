import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Requests to one path. */
  to(path: string): Received[];
  /** Resolves once `count` requests have arrived (in all, or at `path`), or rejects after `timeoutMs`. */
  waitFor(count: number, opts?: { path?: string; timeoutMs?: number }): Promise<Received[]>;
  /** Answers requests to `path` with `status` from now on (default 200). */
  respond(path: string, status: number): void;
  /** Answers requests to `path` only after `ms` from now on. */
  delay(path: string, ms: number): void;
  close(): Promise<void>;
}

/** A real HTTP receiver on loopback that records every request. */
export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const statuses = new Map<string, number>();
  const delays = new Map<string, number>();
  const waiters = new Set<() => void>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      received.push({
        path,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      });
      // The answer is decided on arrival, so a test reacting to this request changes only later ones.
      const status = statuses.get(path) ?? 200;
      const delay = delays.get(path) ?? 0;
      for (const w of waiters) w();
      setTimeout(() => {
        res.statusCode = status;
        res.end('ok');
      }, delay);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const to = (path: string) => received.filter((r) => r.path === path);
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    to,
    respond: (path, status) => statuses.set(path, status),
    delay: (path, ms) => delays.set(path, ms),
    waitFor(count, { path, timeoutMs = 30_000 } = {}) {
      const current = () => (path ? to(path) : received);
      return new Promise((resolve, reject) => {
        const check = () => {
          if (current().length >= count) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(current());
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(`expected ${count} request(s)${path ? ` at ${path}` : ''}, got ${current().length}`),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
