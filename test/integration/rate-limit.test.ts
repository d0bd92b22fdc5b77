import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { errorHandler } from '../../src/api/problem.js';
import { rateLimit } from '../../src/api/rate-limit.js';

// The limiter over real HTTP, with a limit small enough that timing cannot decide the outcome:
// 1 request a second, bursts of 3.
describe('per-key rate limit', () => {
  let server: Server;
  let url: string;

  before(async () => {
    const app = express();
    app.use(rateLimit({ perSecond: 1, burst: 3 }));
    app.get('/', (_req, res) => void res.json({ ok: true }));
    // A route whose database is down: the error handler answers 503.
    app.get('/down', () => {
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5433'), { code: 'ECONNREFUSED' });
    });
    app.use(errorHandler(() => undefined));
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const get = (key: string, route = '') =>
    fetch(`${url}${route}`, { headers: { authorization: `Bearer ${key}` } });

  it('lets the burst through, then answers 429 problem+json with Retry-After', async () => {
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await get('key-a')).status);
    assert.deepEqual(statuses.slice(0, 3), [200, 200, 200]);
    assert.equal(statuses[4], 429);
    const limited = await get('key-a');
    assert.equal(limited.status, 429);
    assert.match(limited.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    assert.match(limited.headers.get('content-type') ?? '', /problem\+json/);
    assert.equal(((await limited.json()) as { status: number }).status, 429);
  });

  it('counts each key on its own and refills over time', async () => {
    assert.equal((await get('key-b')).status, 200, 'another key has its own bucket');
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await get('key-a')).status, 200, 'a second later there is a token again');
  });

  it('does not count requests answered 503 while a dependency was down', async () => {
    for (let i = 0; i < 10; i++) {
      const res = await get('key-c', 'down');
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '5');
    }
    assert.equal((await get('key-c')).status, 200, 'the bucket is still full when the dependency is back');
  });
});
