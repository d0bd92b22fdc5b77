import { createHmac, randomBytes } from 'node:crypto';

/**
 * Webhook signing: Standard Webhooks (`webhook-*` headers) and the guide's `X-Hookline-Signature`.
 * Both are HMAC-SHA256 keyed by the same bytes: the base64-decoded part after `whsec_` when the
 * secret has that prefix, otherwise the secret's UTF-8 bytes (so a guide-style secret works).
 */

const WHSEC_PREFIX = 'whsec_';
const SECRET_BYTES = 24;

export function generateSecret(): string {
  return WHSEC_PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

export function signingKey(secret: string): Buffer {
  return secret.startsWith(WHSEC_PREFIX)
    ? Buffer.from(secret.slice(WHSEC_PREFIX.length), 'base64')
    : Buffer.from(secret, 'utf8');
}

/** One `v1,<base64>` entry per secret, space-separated (several during a secret rotation). */
export function standardSignature(
  secrets: readonly string[],
  msgId: string,
  timestampSeconds: number,
  body: string,
): string {
  const content = `${msgId}.${timestampSeconds}.${body}`;
  return secrets
    .map((s) => `v1,${createHmac('sha256', signingKey(s)).update(content).digest('base64')}`)
    .join(' ');
}

/** `sha256=<hex HMAC of the body>`, as the guide's receivers check it. */
export function bodySignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', signingKey(secret)).update(body).digest('hex')}`;
}

export interface SignatureInput {
  /** Stable per event and endpoint, so receivers can deduplicate retries. */
  webhookId: string;
  eventId: string;
  eventType: string;
  /** Seconds since the epoch, fresh for each attempt. */
  timestampSeconds: number;
  body: string;
  /** The current secret first, then any still-valid previous ones. */
  secrets: readonly string[];
  /** Name of the body-signature header; `X-Hookline-Signature` when not set. */
  signatureHeader?: string | null;
}

export const DEFAULT_SIGNATURE_HEADER = 'X-Hookline-Signature';

export function signatureHeaders(input: SignatureInput): Record<string, string> {
  const [current] = input.secrets;
  if (current === undefined) throw new Error('an endpoint needs at least one secret to sign with');
  return {
    'webhook-id': input.webhookId,
    'webhook-timestamp': String(input.timestampSeconds),
    'webhook-signature': standardSignature(
      input.secrets,
      input.webhookId,
      input.timestampSeconds,
      input.body,
    ),
    'X-Hookline-Event-Type': input.eventType,
    'X-Hookline-Event-Id': input.eventId,
    'X-Hookline-Timestamp': String(input.timestampSeconds),
    [input.signatureHeader || DEFAULT_SIGNATURE_HEADER]: bodySignature(current, input.body),
  };
}
