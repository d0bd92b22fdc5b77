import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { MAX_JSON_DEPTH } from '../../src/api/input.js';
import { RESPONSE_BODIES } from '../../src/api/responses.js';
import { api, type TestStack, startStack } from '../helpers/stack.js';
import { startWorkerProcess } from '../helpers/worker-process.js';

const NUL = '\u0000';
const METRICS_TOKEN = 'metrics-token-0123456789';

/** `depth` nested arrays around a number, as JSON text (JSON.stringify would recurse). */
const nested = (depth: number) => '['.repeat(depth) + '1' + ']'.repeat(depth);

/** A request as curl sends `curl -X POST url -H 'Authorization: …'`: no body, no Content-Length. */
function bareRequest(stack: TestStack, method: string, route: string): Promise<number> {
  const url = new URL(stack.platform.apiUrl!);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.write(
        `${method} ${route} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${stack.apiKey}\r\n` +
          'Connection: close\r\n\r\n',
      );
    });
    let head = '';
    socket.on('data', (chunk) => (head += chunk.toString()));
    socket.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1])));
    socket.on('error', reject);
  });
}

describe('hostile input on the real stack', () => {
  let stack: TestStack;
  let endpointId: string;

  before(async () => {
    stack = await startStack({ env: { HOOKLINE_METRICS_TOKEN: METRICS_TOKEN } });
    const ep = await api(stack, 'POST', '/api/endpoints', {
      name: 'hostile',
      url: 'https://example.com/hook',
      events: ['nothing.matches'],
    });
    assert.equal(ep.status, 201);
    endpointId = ep.body.id;
  });
  after(() => stack?.stop());

  const assertProblem = (r: { status: number; headers: Headers }, status: number, what: string) => {
    assert.equal(r.status, status, what);
    assert.match(r.headers.get('content-type') ?? '', /application\/problem\+json/, what);
  };

  it("refuses a NUL in an event's source, type, tags, idempotency key and payload with 400", async () => {
    const event = { type: 'hostile.x', payload: { a: 1 } };
    for (const [what, body] of [
      ['source', { ...event, source: `shop${NUL}` }],
      ['type', { ...event, type: `hostile.${NUL}` }],
      ['tags', { ...event, options: { tags: ['ok', `bad${NUL}`] } }],
      ['options.idempotencyKey', { ...event, options: { idempotencyKey: `k${NUL}` } }],
      ['payload value', { ...event, payload: { deep: [{ s: `x${NUL}y` }] } }],
      ['payload key', { ...event, payload: { [`k${NUL}`]: 1 } }],
    ] as const) {
      const r = await api(stack, 'POST', '/api/events', body);
      assertProblem(r, 400, what);
      assert.match(JSON.stringify(r.body.errors), /NUL/, what);
    }
  });

  it('refuses lone surrogates and numbers JSON cannot carry with 400, where PostgreSQL would fail', async () => {
    const json = (route: string, body: string) => api(stack, 'POST', route, body);
    for (const [route, body] of [
      ['/api/events', '{"type":"hostile.s","source":"\\ud800","payload":{}}'],
      ['/api/events', '{"type":"hostile.s","payload":{"k":"\\udc00"}}'],
      ['/api/events', '{"type":"hostile.s","payload":{"n":1e400}}'],
      ['/api/endpoints', '{"name":"\\ud800","url":"https://example.com","events":["a.b"]}'],
      [
        '/api/endpoints',
        '{"name":"f","url":"https://example.com","events":["a.b"],"filters":{"conditions":[{"field":"type","operator":"eq","value":"\\ud800"}]}}',
      ],
    ] as const) {
      assertProblem(await json(route, body), 400, body);
    }
  });

  it('answers client errors of the body parser and the router with their 4xx, not 500', async () => {
    const post = (headers: Record<string, string>, body = '{}') =>
      fetch(`${stack.platform.apiUrl}/api/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${stack.apiKey}`, ...headers },
        body,
      });
    assert.equal((await post({ 'content-type': 'application/json; charset=latin9' })).status, 415);
    assert.equal(
      (await post({ 'content-type': 'application/json', 'content-encoding': 'nope' })).status,
      415,
    );
    assert.equal(
      (await post({ 'content-type': 'application/json', 'content-encoding': 'gzip' })).status,
      400,
    );
    assertProblem(await api(stack, 'GET', '/api/events/%E0%A4%A'), 400, 'bad percent-encoding');
  });

  it('refuses a NUL in every string of an endpoint, on create and on change, with 400', async () => {
    const base = { name: 'n', url: 'https://example.com/h', events: ['a.b'] };
    for (const [what, body] of [
      ['name', { ...base, name: `n${NUL}` }],
      ['url', { ...base, url: `https://example.com/${NUL}` }],
      ['events', { ...base, events: [`a.${NUL}`] }],
      ['headers', { ...base, headers: { 'X-Key': `v${NUL}` } }],
      ['security.secret', { ...base, security: { secret: `secret-${NUL}-long` } }],
      ['filters', { ...base, filters: { conditions: [{ field: 'type', operator: 'eq', value: NUL }] } }],
    ] as const) {
      assertProblem(await api(stack, 'POST', '/api/endpoints', body), 400, `POST ${what}`);
    }
    assertProblem(await api(stack, 'PATCH', `/api/endpoints/${endpointId}`, { name: NUL }), 400, 'PATCH');
    const rotate = await api(stack, 'POST', `/api/endpoints/${endpointId}/secret/rotate`, {
      secret: `whsec_${NUL}abcdef`,
    });
    assertProblem(rotate, 400, 'rotate');
    const app = await api(
      stack,
      'POST',
      '/api/admin/applications',
      { name: `a${NUL}` },
      { authorization: `Bearer ${stack.config.adminToken}` },
    );
    assertProblem(app, 400, 'application name');
  });

  it('refuses a NUL in query parameters with 400', async () => {
    for (const route of [
      '/api/events?cursor=%00',
      '/api/events?tag=%00',
      '/api/events?status=%00',
      '/api/events?type=a%00',
      '/api/endpoints?cursor=%00',
      '/api/dead-letters?endpointId=%00',
      '/api/dead-letters?eventType=%00',
    ]) {
      assertProblem(await api(stack, 'GET', route), 400, route);
    }
  });

  it('answers 404 to ids that cannot exist, NUL included, before any query', async () => {
    const admin = { authorization: `Bearer ${stack.config.adminToken}` };
    for (const [method, route, headers] of [
      ['GET', '/api/events/evt_%00', {}],
      ['GET', '/api/events/evt_%00/deliveries', {}],
      ['POST', '/api/events/evt_%00/replay', {}],
      ['GET', `/api/endpoints/${endpointId}%00`, {}],
      ['PATCH', `/api/endpoints/${endpointId}%00`, {}],
      ['DELETE', `/api/endpoints/${endpointId}%00`, {}],
      ['GET', `/api/endpoints/${'x'.repeat(5000)}`, {}],
      ['GET', '/api/deliveries/%00/attempts', {}],
      ['POST', '/api/dead-letters/dl_%00/replay', {}],
      ['GET', '/api/admin/applications/%00/keys', admin],
      ['DELETE', '/api/admin/applications/default/keys/%00', admin],
    ] as const) {
      const body = method === 'PATCH' ? { name: 'x' } : undefined;
      assertProblem(await api(stack, method, route, body, headers), 404, `${method} ${route}`);
    }
    assert.equal((await api(stack, 'GET', `/api/endpoints/${endpointId}`)).status, 200, 'a real id works');
  });

  it(`refuses JSON nested deeper than ${MAX_JSON_DEPTH} levels with 400, not a stack overflow`, async () => {
    const deep = `{"type":"hostile.deep","payload":${nested(10_000)}}`;
    const r = await api(stack, 'POST', '/api/events', deep);
    assertProblem(r, 400, 'payload 10,000 deep');
    assert.equal(r.body.title, 'Too deeply nested');
    // The body object is one level, so its payload may nest one less than the cap.
    const atCap = `{"type":"hostile.deep","payload":${nested(MAX_JSON_DEPTH - 1)}}`;
    assert.equal((await api(stack, 'POST', '/api/events', atCap)).status, 202, 'at the cap');
    const overCap = `{"type":"hostile.deep","payload":${nested(MAX_JSON_DEPTH)}}`;
    assertProblem(await api(stack, 'POST', '/api/events', overCap), 400, 'one past the cap');
    const filters = `{"name":"d","url":"https://example.com","events":["a.b"],"filters":${nested(10_000)}}`;
    assertProblem(await api(stack, 'POST', '/api/endpoints', filters), 400, 'deep filters');
  });

  it('refuses an Idempotency-Key header over 200 characters with 400, as it does the body key', async () => {
    const r = await api(
      stack,
      'POST',
      '/api/events',
      { type: 'hostile.key', payload: {} },
      { 'Idempotency-Key': 'k'.repeat(8000) },
    );
    assertProblem(r, 400, 'long header');
    assert.equal(r.body.errors[0].field, 'Idempotency-Key');
    const ok = await api(
      stack,
      'POST',
      '/api/events',
      { type: 'hostile.key', payload: {} },
      { 'Idempotency-Key': 'k'.repeat(200) },
    );
    assert.equal(ok.status, 202);
    const longToken = await api(stack, 'GET', '/api/events', undefined, {
      authorization: `Bearer ${'k'.repeat(8000)}`,
    });
    assertProblem(longToken, 401, 'long bearer token');
  });

  it('refuses dates out of range and numbers out of range in queries with 400', async () => {
    for (const route of [
      '/api/events?from=-271821-04-20',
      '/api/events?to=%2B275760-09-13',
      '/api/events?from=not-a-date',
      '/api/events?from=0001-01-01',
      '/api/dead-letters?to=-271821-04-20',
      '/api/events?limit=1e400',
      '/api/events?limit=-1',
    ]) {
      assertProblem(await api(stack, 'GET', route), 400, route);
    }
    assert.equal((await api(stack, 'GET', '/api/events?from=2020-01-01&to=2999-12-31')).status, 200);
    const bulk = await api(stack, 'POST', '/api/dead-letters/replay', { from: '-271821-04-20' });
    assertProblem(bulk, 400, 'bulk replay from');
  });

  it('answers a batch item by item: a hostile item is refused on its own, nothing answers 500', async () => {
    const r = await api(stack, 'POST', '/api/events/batch', {
      events: [
        { type: 'hostile.one', payload: { n: 1 } },
        { type: 'hostile.two', source: `s${NUL}`, payload: { n: 2 } },
        { type: 'hostile.three', payload: { n: 3 }, options: { tags: [NUL] } },
        { type: 'hostile.four', payload: { n: 4 } },
      ],
    });
    assert.equal(r.status, 207);
    assert.deepEqual(
      r.body.results.map((x: { status: number }) => x.status),
      [202, 400, 400, 202],
    );
    // A batch that nests too deeply anywhere is refused whole, before any item is stored.
    const before = (await api(stack, 'GET', '/api/events?type=hostile.batchdeep')).body.data.length;
    const deep = `{"events":[{"type":"hostile.batchdeep","payload":{}},{"type":"hostile.batchdeep","payload":${nested(10_000)}}]}`;
    assertProblem(await api(stack, 'POST', '/api/events/batch', deep), 400, 'deep batch');
    const afterwards = (await api(stack, 'GET', '/api/events?type=hostile.batchdeep')).body.data.length;
    assert.equal(afterwards, before, 'no item of the refused batch was stored');
  });

  it('accepts a POST without a body where the route takes none, as the README replay commands send it', async () => {
    const ev = await api(stack, 'POST', '/api/events', { type: 'hostile.replay', payload: {} });
    const replay = await bareRequest(stack, 'POST', `/api/events/${ev.body.eventId}/replay`);
    assert.ok([202, 409].includes(replay), `replay answered ${replay}, not 415`);
    assert.equal(
      await bareRequest(stack, 'POST', '/api/dead-letters/dl_0000000000000000000000000a/replay'),
      404,
    );
    const typed = await fetch(`${stack.platform.apiUrl}/api/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'text/plain' },
      body: 'hello',
    });
    assert.equal(typed.status, 415, 'a body that is not JSON is still refused');
  });

  it('keeps /metrics bounded: no source label, and it needs the metrics token when one is set', async () => {
    const scrape = (token?: string) =>
      fetch(`${stack.platform.apiUrl}/metrics`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
    assert.equal((await scrape()).status, 401);
    assert.equal((await scrape('wrong-token-0123456789')).status, 401);
    const sizeBefore = (await (await scrape(METRICS_TOKEN)).text()).length;
    const sources = Array.from({ length: 100 }, (_, i) => ({
      type: 'hostile.metrics',
      source: `source-${i}-${'s'.repeat(100)}`,
      payload: {},
    }));
    assert.equal((await api(stack, 'POST', '/api/events/batch', { events: sources })).body.accepted, 100);
    const res = await scrape(METRICS_TOKEN);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.doesNotMatch(text, /source=/);
    assert.match(text, /hookline_events_received_total\{event_type="hostile\.metrics"\} 100/);
    assert.ok(text.length - sizeBefore < 2000, `/metrics grew by ${text.length - sizeBefore} bytes`);
  });

  it("holds a worker-only process's /metrics to the same token", async () => {
    const worker = await startWorkerProcess(stack, 'metrics-worker', {
      HOOKLINE_METRICS_TOKEN: METRICS_TOKEN,
    });
    try {
      assert.equal((await fetch(worker.metricsUrl)).status, 401);
      const ok = await fetch(worker.metricsUrl, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      assert.equal(ok.status, 200);
      assert.match(await ok.text(), /hookline_process_cpu_user_seconds_total/);
    } finally {
      await worker.stop();
    }
  });

  it('documents every status a route answers in /openapi.json', async () => {
    const doc = (await (await fetch(`${stack.platform.apiUrl}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const codes = Object.keys(op.responses);
        const at = `${method.toUpperCase()} ${path}`;
        assert.ok(!codes.includes('default'), `${at} lists its statuses, not a default`);
        assert.ok(codes.includes('401') && codes.includes('503'), at);
        if (path.includes('{')) assert.ok(codes.includes('404'), `${at} answers 404`);
        if (method === 'post' || method === 'patch')
          for (const c of ['400', '413', '415']) assert.ok(codes.includes(c), `${at} answers ${c}`);
      }
    }
    assert.ok(doc.paths['/api/events']!.post!.responses['409'], 'ingest documents 409');
    // Every success body stated in responses.ts is that of a route, under a status it answers.
    for (const [route, bodies] of Object.entries(RESPONSE_BODIES)) {
      const [method, path] = route.split(' ') as [string, string];
      const op = doc.paths[path.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()];
      assert.ok(op, `${route} is a route`);
      for (const code of Object.keys(bodies)) {
        const response = op.responses[code] as { content?: Record<string, unknown> } | undefined;
        assert.ok(response?.content?.['application/json'], `${route} documents its ${code} body`);
      }
    }
  });
});
