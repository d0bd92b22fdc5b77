// `hookline`, the command-line tool (sdk/dist/cli.js, the package's bin), against the real stack.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateSecret } from '../../src/domain/signing.js';
import type { Receiver } from '../helpers/receiver.js';
import {
  api,
  eventOutcome,
  startStackAndReceiver,
  stopStackAndReceiver,
  type TestStack,
} from '../helpers/stack.js';
import { waitUntil } from '../helpers/wait.js';

const CLI = path.resolve('sdk', 'dist', 'cli.js');

describe('hookline command-line tool', () => {
  let stack: TestStack;
  let receiver: Receiver;
  let dir: string;

  const run = (args: string[], env: Record<string, string> = {}) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI, ...args], {
        env: {
          ...process.env,
          HOOKLINE_API_URL: stack.platform.apiUrl!,
          HOOKLINE_API_KEY: stack.apiKey,
          ...env,
        },
        cwd: dir,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c));
      child.stderr.on('data', (c: Buffer) => (stderr += c));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });

  /** A long-running command; resolves its output lines as they come. */
  const start = (args: string[]) => {
    const child: ChildProcess = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, HOOKLINE_API_URL: stack.platform.apiUrl!, HOOKLINE_API_KEY: stack.apiKey },
      cwd: dir,
    });
    const lines: string[] = [];
    let err = '';
    child.stdout!.on('data', (c: Buffer) => lines.push(...c.toString().split('\n').filter(Boolean)));
    child.stderr!.on('data', (c: Buffer) => (err += c));
    const waitFor = async (test: (line: string) => boolean, what: string) => {
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const hit = lines.find(test);
        if (hit) return hit;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`no ${what} in ${JSON.stringify(lines)} / ${err}`);
    };
    const stderrMatch = async (re: RegExp) => {
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const m = re.exec(err);
        if (m) return m;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`stderr never matched ${re}: ${err}`);
    };
    const stop = () =>
      new Promise<number | null>((resolve) => {
        child.once('close', (code) => resolve(code));
        child.kill('SIGTERM');
      });
    return { lines, waitFor, stderrMatch, stop };
  };

  before(async () => {
    assert.ok(existsSync(CLI), 'sdk/dist/cli.js is built by npm install (scripts/build-sdk.mjs)');
    ({ stack, receiver } = await startStackAndReceiver());
    dir = await mkdtemp(path.join(tmpdir(), 'hookline-cli-'));
  });
  after(async () => {
    await stopStackAndReceiver(stack, receiver);
    await rm(dir, { recursive: true, force: true });
  });

  it('follows CLI conventions: help, exit code 2 for bad usage, 1 for API errors with every field problem', async () => {
    const help = await run(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: hookline/);
    const bad = await run(['send']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /send needs an event type/);
    assert.equal((await run(['frobnicate'])).code, 2);
    const noKey = await run(['endpoints', 'list'], { HOOKLINE_API_KEY: '' });
    assert.equal(noKey.code, 2);
    assert.match(noKey.stderr, /no API key/);
    const invalid = await run(['endpoints', 'create', '--name', 'x', '--url', 'ftp://x', '--events', 'a.b']);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /400[\s\S]*url: /);
  });

  it('creates and lists endpoints, sends an event and shows it with its attempts (--json)', async () => {
    const created = await run([
      'endpoints',
      'create',
      '--name',
      'Orders',
      '--url',
      `${receiver.url}/orders`,
      '--events',
      'order.*',
      '--json',
    ]);
    assert.equal(created.code, 0, created.stderr);
    const ep = JSON.parse(created.stdout);
    assert.match(ep.security.secret, /^whsec_/);
    const list = JSON.parse((await run(['endpoints', 'list', '--json'])).stdout);
    assert.deepEqual(
      list.map((e: { id: string }) => e.id),
      [ep.id],
    );

    const sent = await run([
      'send',
      'order.created',
      '--payload',
      '{"order":{"id":"ORD-1"}}',
      '--tag',
      'cli',
      '--json',
    ]);
    assert.equal(sent.code, 0, sent.stderr);
    const { eventId } = JSON.parse(sent.stdout);
    await receiver.waitFor(1, { path: '/orders' });
    let shown: { deliveries: Array<{ status: string; attemptList: Array<{ statusCode: number }> }> } = {
      deliveries: [],
    };
    for (let i = 0; i < 50 && shown.deliveries[0]?.status !== 'delivered'; i++) {
      shown = JSON.parse((await run(['show', eventId, '--json'])).stdout);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(shown.deliveries[0]!.status, 'delivered');
    assert.equal(shown.deliveries[0]!.attemptList[0]!.statusCode, 200);
    const human = await run(['show', eventId]);
    assert.match(human.stdout, /run 0 attempt 1: delivered 200/);
  });

  it('sends an NDJSON file in batches and reports the lines it refused', async () => {
    const file = path.join(dir, 'events.ndjson');
    const lines = Array.from({ length: 150 }, (_, i) =>
      JSON.stringify(i === 120 ? { type: '', payload: {} } : { type: 'file.item', payload: { i } }),
    );
    await writeFile(file, `${lines.join('\n')}\n\n`);
    const r = await run(['send', '--file', file, '--json']);
    assert.equal(r.code, 1, 'a refused line is a failure');
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.total, 150);
    assert.equal(summary.accepted, 149);
    assert.equal(summary.refused[0].line, 121);
    const missing = await run(['send', '--file', path.join(dir, 'nope.ndjson')]);
    assert.equal(missing.code, 2);
  });

  it('listens: a local receiver that verifies and prints real deliveries, and refuses forged ones', async () => {
    const secret = generateSecret();
    const listener = start(['listen', '0', '--secret', secret, '--json']);
    const [, port] = await listener.stderrMatch(/listening on http:\/\/127\.0\.0\.1:(\d+)\//);
    const created = await run([
      'endpoints',
      'create',
      '--name',
      'Local',
      '--url',
      `http://127.0.0.1:${port}/in`,
      '--events',
      'local.*',
      '--secret',
      secret,
      '--json',
    ]);
    assert.equal(created.code, 0, created.stderr);
    await run(['send', 'local.ping', '--payload', '{"ping":true}']);
    const line = JSON.parse(
      await listener.waitFor((l) => l.includes('"verified":true'), 'verified delivery'),
    );
    assert.deepEqual(line.event, { ping: true });

    const forged = await fetch(`http://127.0.0.1:${port}/in`, {
      method: 'POST',
      headers: {
        'webhook-id': 'x',
        'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
        'webhook-signature': 'v1,Zm9yZ2Vk',
      },
      body: '{}',
    });
    assert.equal(forged.status, 401);
    await listener.waitFor((l) => l.includes('"verified":false'), 'refused forgery');
    assert.equal(await listener.stop(), 0);
  });

  it('lists dead letters and replays them, one or all', async () => {
    receiver.respond('/down', 500);
    // Created through the API: one attempt, so a 500 dead-letters at once.
    const ep = (
      await api(stack, 'POST', '/api/endpoints', {
        name: 'Down',
        url: `${receiver.url}/down`,
        events: ['down.*'],
        retryConfig: { maxAttempts: 1 },
      })
    ).body;
    await run(['send', 'down.one', '--payload', '{}']);
    await run(['send', 'down.two', '--payload', '{}']);
    let dead: Array<{ id: string }> = [];
    for (let i = 0; i < 100 && dead.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      dead = JSON.parse((await run(['dead-letters', 'list', '--endpoint', ep.id, '--json'])).stdout);
    }
    assert.equal(dead.length, 2);
    receiver.respond('/down', 200);
    const one = await run(['dead-letters', 'replay', dead[0]!.id]);
    assert.equal(one.code, 0, one.stderr);
    const all = JSON.parse(
      (await run(['dead-letters', 'replay', '--all', '--endpoint', ep.id, '--json'])).stdout,
    );
    assert.equal(all.replayed, 1, 'the one not replayed yet');
    await receiver.waitFor(4, { path: '/down' });
  });

  it('tails deliveries as they happen, and replays an event', async () => {
    const tail = start(['tail', '--json']);
    // The tail shows the events created after its own start, which no fixed pause is sure to
    // outlast on a busy machine: send an event again until the tail shows one of them delivered.
    const sent: string[] = [];
    const shown = () =>
      tail.lines.find((l) => sent.some((id) => l.includes(id)) && l.includes('"delivered"'));
    await waitUntil(
      async () => {
        if (shown()) return true;
        sent.push(
          JSON.parse((await run(['send', 'order.tailed', '--payload', '{}', '--json'])).stdout).eventId,
        );
        return false;
      },
      60_000,
      2_000,
    );
    const line = JSON.parse(shown()!);
    assert.equal(line.type, 'order.tailed');
    // Every event sent above has reached the receiver before the count the replay adds one to.
    for (const id of sent) await eventOutcome(stack, id);
    const before = receiver.to('/orders').length;
    const replayed = await run(['replay', line.eventId]);
    assert.equal(replayed.code, 0, replayed.stderr);
    await receiver.waitFor(before + 1, { path: '/orders' });
    assert.equal(await tail.stop(), null, 'tail runs until it is stopped');
  });
});
