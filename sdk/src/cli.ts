// `hookline` — Hookline from the command line. Run `hookline help` for the commands.
// Exit codes: 0 done, 1 the API or the network failed, 2 bad usage.
import { readFileSync, existsSync, createReadStream } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { HooklineClient, HooklineError, type EventInput, type RateLimit } from './client.js';
import { verifyWebhook, WebhookVerificationError } from './verify.js';

const USAGE = `Usage: hookline <command> [options]

Commands:
  send <type> [--payload JSON] [--source S] [--tag T]... [--priority high|normal|low] [--key K]
                                   send one event
  send --file events.ndjson        send every line (an event object) in batches, with progress
  endpoints list                   list endpoints
  endpoints create --name N --url U --events a.*,b.c [--secret S] [--rate-limit R[:B]]
                                   create an endpoint (prints its secret once)
  endpoints update <id> [--name N] [--url U] [--events a.*,b.c] [--rate-limit R[:B] | off]
                                   change an endpoint; --rate-limit 10:5 is 10 deliveries a
                                   second, 5 at once (the burst, default 1); off: unthrottled
  show <eventId>                   an event, its deliveries and their attempts
  tail                             print deliveries as they happen (Ctrl-C stops)
  replay <eventId>                 deliver an event again
  dead-letters list [--endpoint ID]
  dead-letters replay <id> | --all [--endpoint ID] [--type T]
  listen <port> --secret S         run a local receiver that verifies and prints webhooks

Options:
  --api-url URL   the API (env HOOKLINE_API_URL; default http://127.0.0.1:3000)
  --api-key KEY   an API key (env HOOKLINE_API_KEY; default: the one in .data/secrets.json)
  --json          machine-readable output (one JSON document, or one per line for streams)
  -h, --help      this help`;

class UsageError extends Error {}

const { values: opts, positionals } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        'api-url': { type: 'string' },
        'api-key': { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        payload: { type: 'string' },
        source: { type: 'string' },
        tag: { type: 'string', multiple: true },
        priority: { type: 'string' },
        key: { type: 'string' },
        file: { type: 'string' },
        name: { type: 'string' },
        url: { type: 'string' },
        events: { type: 'string' },
        secret: { type: 'string' },
        'rate-limit': { type: 'string' },
        endpoint: { type: 'string' },
        type: { type: 'string' },
        all: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    process.stderr.write(`hookline: ${(err as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
})();

/** `--rate-limit 10`, `10:5` (a burst of 5), `0.5` (one every 2 s); `off` (null) clears it. */
function rateLimitOption(text: string): RateLimit | null {
  if (text === 'off') return null;
  const match = /^(\d+(?:\.\d+)?)(?::(\d+))?$/.exec(text);
  if (!match) throw new UsageError(`--rate-limit takes PER_SECOND[:BURST] or off, not ${text}`);
  return { perSecond: Number(match[1]), burst: match[2] === undefined ? 1 : Number(match[2]) };
}

const rateText = (r: RateLimit | null) => (r ? `${r.perSecond}/s burst ${r.burst}` : 'unthrottled');

const out = (human: string, data: unknown) =>
  process.stdout.write(opts.json ? `${JSON.stringify(data)}\n` : `${human}\n`);

function apiKey(): string {
  const key = opts['api-key'] ?? process.env.HOOKLINE_API_KEY;
  if (key) return key;
  const file = path.join(process.env.HOOKLINE_DATA_DIR ?? '.data', 'secrets.json');
  if (existsSync(file)) {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { bootstrapApiKey?: string };
    if (stored.bootstrapApiKey) return stored.bootstrapApiKey;
  }
  throw new UsageError('no API key: pass --api-key or set HOOKLINE_API_KEY');
}

const client = () =>
  new HooklineClient({
    apiUrl: opts['api-url'] ?? process.env.HOOKLINE_API_URL ?? 'http://127.0.0.1:3000',
    apiToken: apiKey(),
  });

function parsePayload(text: string | undefined): unknown {
  if (text === undefined) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError('--payload must be JSON');
  }
}

async function sendFile(file: string) {
  if (!existsSync(file)) throw new UsageError(`no such file: ${file}`);
  const lines: EventInput[] = [];
  let lineNo = 0;
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    lineNo++;
    if (!line.trim()) continue;
    try {
      lines.push(JSON.parse(line) as EventInput);
    } catch {
      throw new UsageError(`${file}:${lineNo}: not a JSON object`);
    }
  }
  const c = client();
  const total = lines.length;
  let accepted = 0;
  const refused: Array<{ line: number; detail: string }> = [];
  const bar = (done: number) => {
    if (opts.json || !process.stderr.isTTY) return;
    const width = 30;
    const filled = Math.round((done / Math.max(1, total)) * width);
    process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
  };
  for (let i = 0; i < total; i += 100) {
    const r = await c.sendEvents(lines.slice(i, i + 100));
    accepted += r.accepted;
    for (const x of r.results) {
      if (x.status >= 400) {
        refused.push({
          line: i + x.index + 1,
          detail: x.errors?.map((e) => `${e.field}: ${e.message}`).join('; ') ?? x.detail ?? '',
        });
      }
    }
    bar(Math.min(total, i + 100));
  }
  if (!opts.json && process.stderr.isTTY) process.stderr.write('\n');
  out(
    `${accepted} of ${total} events accepted${refused.length ? `, ${refused.length} refused:\n${refused.map((r) => `  event ${r.line}: ${r.detail}`).join('\n')}` : ''}`,
    { total, accepted, refused },
  );
  return refused.length ? 1 : 0;
}

async function tail(): Promise<number> {
  const c = client();
  const seen = new Map<string, string>(); // delivery id → last status printed
  const since = new Date().toISOString();
  for (;;) {
    const page = await c.events.list({ from: since, limit: 50 });
    for (const summary of page.data.reverse()) {
      const event = await c.events.get(summary.id);
      for (const d of event.deliveries) {
        const key = `${d.status}:${d.attempts}`;
        if (seen.get(d.id) === key) continue;
        seen.set(d.id, key);
        out(
          `${new Date().toISOString()}  ${event.type}  ${event.id} → ${d.endpointId}  ${d.status}  (${d.attempts} attempt(s)${d.lastStatusCode ? `, last ${d.lastStatusCode}` : ''})`,
          { at: new Date().toISOString(), eventId: event.id, type: event.type, ...d },
        );
      }
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function listen(portText: string | undefined): Promise<number> {
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError('listen needs a port: hookline listen 4000 --secret whsec_…');
  const secret = opts.secret ?? process.env.HOOKLINE_WEBHOOK_SECRET;
  if (!secret)
    throw new UsageError('listen needs the endpoint secret: --secret whsec_… (or HOOKLINE_WEBHOOK_SECRET)');
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      try {
        const event = verifyWebhook(secret, req.headers, body);
        res.writeHead(204).end();
        out(
          `✔ ${req.headers['x-hookline-event-type'] ?? ''} ${req.headers['webhook-id'] ?? ''}\n${JSON.stringify(event, null, 2)}`,
          { verified: true, path: req.url, headers: req.headers, event },
        );
      } catch (err) {
        const reason = err instanceof WebhookVerificationError ? err.reason : 'error';
        res.writeHead(401, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: reason }));
        out(`✘ refused (${reason}) ${req.method} ${req.url}`, { verified: false, path: req.url, reason });
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const actual = (server.address() as { port: number }).port;
      process.stderr.write(`hookline: listening on http://127.0.0.1:${actual}/ (Ctrl-C stops)\n`);
    });
    process.once('SIGINT', () => server.close(() => resolve(0)));
    process.once('SIGTERM', () => server.close(() => resolve(0)));
  });
}

async function main(): Promise<number> {
  const [command, sub, arg] = positionals;
  if (opts.help || !command || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return command || opts.help ? 0 : 2;
  }
  switch (command) {
    case 'send': {
      if (opts.file) return sendFile(opts.file);
      if (!sub) throw new UsageError('send needs an event type (or --file)');
      const r = await client().sendEvent(
        {
          type: sub,
          payload: parsePayload(opts.payload),
          ...(opts.source ? { source: opts.source } : {}),
          options: {
            ...(opts.tag ? { tags: opts.tag } : {}),
            ...(opts.priority ? { priority: opts.priority as 'high' } : {}),
          },
        },
        opts.key ? { idempotencyKey: opts.key } : {},
      );
      out(`${r.status} ${r.eventId}`, r);
      return 0;
    }
    case 'endpoints': {
      if (sub === 'list') {
        const page = await client().endpoints.list({ limit: 100 });
        out(
          page.data
            .map(
              (e) =>
                `${e.id}  ${e.enabled ? 'enabled ' : 'disabled'}  ${e.name}  ${e.url}  [${e.events.join(', ')}]  ${rateText(e.rateLimit)}`,
            )
            .join('\n') || 'no endpoints',
          page.data,
        );
        return 0;
      }
      if (sub === 'create') {
        if (!opts.name || !opts.url || !opts.events)
          throw new UsageError('endpoints create needs --name, --url and --events');
        const e = await client().endpoints.create({
          name: opts.name,
          url: opts.url,
          events: opts.events.split(',').map((s) => s.trim()),
          ...(opts.secret ? { security: { secret: opts.secret } } : {}),
          ...(opts['rate-limit'] ? { rateLimit: rateLimitOption(opts['rate-limit']) } : {}),
        });
        out(`${e.id} created; signing secret (shown once): ${e.security.secret}`, e);
        return 0;
      }
      if (sub === 'update') {
        const id = arg;
        if (!id) throw new UsageError('endpoints update needs an endpoint id');
        const patch = {
          ...(opts.name ? { name: opts.name } : {}),
          ...(opts.url ? { url: opts.url } : {}),
          ...(opts.events ? { events: opts.events.split(',').map((s) => s.trim()) } : {}),
          ...(opts['rate-limit'] ? { rateLimit: rateLimitOption(opts['rate-limit']) } : {}),
        };
        if (Object.keys(patch).length === 0)
          throw new UsageError('endpoints update needs --name, --url, --events or --rate-limit');
        const e = await client().endpoints.update(id, patch);
        out(`${e.id} updated: ${e.name}  ${e.url}  [${e.events.join(', ')}]  ${rateText(e.rateLimit)}`, e);
        return 0;
      }
      throw new UsageError('endpoints list | endpoints create | endpoints update');
    }
    case 'show': {
      if (!sub) throw new UsageError('show needs an event id');
      const c = client();
      const event = await c.events.get(sub);
      const deliveries = await Promise.all(
        event.deliveries.map(async (d) => ({ ...d, attemptList: (await c.deliveries.attempts(d.id)).data })),
      );
      const lines = [`${event.id}  ${event.type}  ${event.status}  ${event.createdAt}`];
      for (const d of deliveries) {
        lines.push(`  → ${d.endpointId}  ${d.status}`);
        for (const a of d.attemptList) {
          lines.push(
            `      run ${a.run} attempt ${a.attempt}: ${a.outcome} ${a.statusCode ?? a.errorClass ?? ''} in ${a.durationMs} ms`,
          );
        }
      }
      out(lines.join('\n'), { ...event, deliveries });
      return 0;
    }
    case 'tail':
      return tail();
    case 'replay': {
      if (!sub) throw new UsageError('replay needs an event id');
      const r = await client().events.replay(sub);
      out(`replaying ${sub}`, r);
      return 0;
    }
    case 'dead-letters': {
      if (sub === 'list') {
        const r = await client().deadLetters.list({
          ...(opts.endpoint ? { endpointId: opts.endpoint } : {}),
          replayed: false,
        });
        out(
          r.data.map((d) => `${d.id}  ${d.eventId} → ${d.endpointId}  ${d.reason}`).join('\n') ||
            'no dead letters',
          r.data,
        );
        return 0;
      }
      if (sub === 'replay') {
        if (opts.all) {
          const r = await client().deadLetters.replayMany({
            ...(opts.endpoint ? { endpointId: opts.endpoint } : {}),
            ...(opts.type ? { eventType: opts.type } : {}),
          });
          const skipped = r.skipped.length ? `; ${r.skipped.length} skipped: still delivering` : '';
          out(`replaying ${r.replayed} dead letter(s)${skipped}`, r);
          return 0;
        }
        if (!arg) throw new UsageError('dead-letters replay needs an id or --all');
        out(`replaying ${arg}`, await client().deadLetters.replay(arg));
        return 0;
      }
      throw new UsageError('dead-letters list | dead-letters replay');
    }
    case 'listen':
      return listen(sub);
    default:
      throw new UsageError(`unknown command: ${command}`);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`hookline: ${err.message}\nRun 'hookline help' for usage.\n`);
      process.exit(2);
    }
    if (err instanceof HooklineError) {
      const fields = err.errors.map((e) => `\n  ${e.field}: ${e.message}`).join('');
      process.stderr.write(`hookline: ${err.message}${fields}\n`);
      if (opts.json) process.stdout.write(`${JSON.stringify({ error: err.problem })}\n`);
      process.exit(1);
    }
    process.stderr.write(`hookline: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
