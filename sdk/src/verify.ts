// Receiver-side verification of Hookline webhooks: Standard Webhooks (`webhook-id`,
// `webhook-timestamp`, `webhook-signature`) and the guide's `X-Hookline-Signature: sha256=<hex>`.
// Node's crypto only; no dependency.
import { createHmac, timingSafeEqual } from 'node:crypto';

export type WebhookHeaders = Record<string, string | string[] | undefined> | Headers;

export type VerificationFailure =
  | 'missing_headers'
  | 'invalid_timestamp'
  | 'timestamp_too_old'
  | 'timestamp_too_new'
  | 'no_matching_signature'
  | 'invalid_json';

/** Thrown when a webhook does not verify; `reason` says which check failed. */
export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';
  constructor(
    readonly reason: VerificationFailure,
    message: string,
  ) {
    super(message);
  }
}

export interface VerifyOptions {
  /** How far the timestamp may be from now, in seconds (default 300, as Standard Webhooks). */
  toleranceSeconds?: number;
  /** "now" in seconds since the epoch (tests). */
  nowSeconds?: number;
  /** The name of the body-signature header when the endpoint set `security.signatureHeader`. */
  signatureHeader?: string;
}

function keyOf(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret, 'utf8');
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
    if (k.toLowerCase() === wanted) return Array.isArray(v) ? v.join(' ') : v;
  }
  return undefined;
}

const equal = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

function checkTimestamp(value: string, opts: VerifyOptions): void {
  if (!/^\d+$/.test(value))
    throw new WebhookVerificationError('invalid_timestamp', 'the timestamp is not a number');
  const now = opts.nowSeconds ?? Math.floor(Date.now() / 1000);
  const tolerance = opts.toleranceSeconds ?? 300;
  const ts = Number(value);
  if (ts < now - tolerance)
    throw new WebhookVerificationError('timestamp_too_old', 'the timestamp is too old');
  if (ts > now + tolerance)
    throw new WebhookVerificationError('timestamp_too_new', 'the timestamp is in the future');
}

/**
 * Verifies a webhook and returns its parsed JSON body. `secret` may be several secrets (during a
 * rotation, the receiver's old and new ones); `body` must be the raw body, byte for byte.
 * Standard Webhooks headers are checked when present (any `v1,` signature of any secret, timestamp
 * within the tolerance); otherwise `X-Hookline-Signature` (or `opts.signatureHeader`) with
 * `X-Hookline-Timestamp`. Throws WebhookVerificationError.
 */
export function verifyWebhook<T = unknown>(
  secret: string | readonly string[],
  headers: WebhookHeaders,
  body: string | Buffer,
  opts: VerifyOptions = {},
): T {
  const secrets = typeof secret === 'string' ? [secret] : [...secret];
  const raw = typeof body === 'string' ? body : body.toString('utf8');
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signature = header(headers, 'webhook-signature');

  let ok = false;
  if (id && timestamp && signature) {
    checkTimestamp(timestamp, opts);
    const offered = signature
      .split(' ')
      .map((entry) => entry.split(','))
      .filter(([version, sig]) => version === 'v1' && sig)
      .map(([, sig]) => sig!);
    ok = secrets.some((s) => {
      const expected = createHmac('sha256', keyOf(s)).update(`${id}.${timestamp}.${raw}`).digest('base64');
      return offered.some((sig) => equal(sig, expected));
    });
  } else {
    const bodySig = header(headers, opts.signatureHeader ?? 'X-Hookline-Signature');
    const ts = header(headers, 'X-Hookline-Timestamp');
    if (!bodySig || !ts) {
      throw new WebhookVerificationError(
        'missing_headers',
        'neither webhook-id/webhook-timestamp/webhook-signature nor the Hookline signature and timestamp headers are present',
      );
    }
    checkTimestamp(ts, opts);
    ok = secrets.some((s) =>
      equal(bodySig, `sha256=${createHmac('sha256', keyOf(s)).update(raw).digest('hex')}`),
    );
  }
  if (!ok) throw new WebhookVerificationError('no_matching_signature', 'no signature matches the secret');
  try {
    return JSON.parse(raw) as T;
  } catch {
    throw new WebhookVerificationError('invalid_json', 'the body is not JSON');
  }
}

/** The subset of Express's request and response the middleware needs. */
interface RequestLike {
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'end' | 'error', listener: (arg?: unknown) => void): unknown;
  webhook?: unknown;
  rawBody?: Buffer;
}
interface ResponseLike {
  status(code: number): ResponseLike;
  json(body: unknown): unknown;
}

/**
 * Express middleware: reads the raw body (mount it before express.json(), or use
 * `express.raw({ type: 'application/json' })` before it), verifies it, and sets `req.webhook` to the
 * parsed event and `req.body` to the same. Answers 401 with the reason when it does not verify.
 */
export function webhookMiddleware(secret: string | readonly string[], opts: VerifyOptions = {}) {
  return (req: RequestLike, res: ResponseLike, next: (err?: unknown) => void) => {
    const finish = (raw: Buffer) => {
      try {
        req.rawBody = raw;
        req.webhook = verifyWebhook(secret, req.headers, raw, opts);
        req.body = req.webhook;
        next();
      } catch (err) {
        if (err instanceof WebhookVerificationError) {
          res.status(401).json({ error: err.reason, message: err.message });
        } else next(err);
      }
    };
    if (Buffer.isBuffer(req.body)) return finish(req.body);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => finish(Buffer.concat(chunks)));
    req.on('error', (err) => next(err));
  };
}
