// A receiver's verification, written independently of src/domain/signing.ts (WebCrypto instead of
// node:crypto's createHmac, its own key and header parsing), so a test that passes both agrees
// with what a real receiver library would compute.

const encoder = new TextEncoder();

function keyBytes(secret: string): Uint8Array {
  if (secret.startsWith('whsec_')) return Uint8Array.from(atob(secret.substring(6)), (c) => c.charCodeAt(0));
  return encoder.encode(secret);
}

async function hmac(secret: string, content: string): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey(
    'raw',
    keyBytes(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(content)));
}

const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const toHex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

function equalConstantTime(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** Standard Webhooks verification: any `v1,` entry matches and the timestamp is within 5 minutes. */
export async function verifyStandardWebhook(
  secret: string,
  headers: Record<string, string | string[] | undefined>,
  body: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<boolean> {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signature = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signature !== 'string') return false;
  if (Math.abs(nowSeconds - Number(timestamp)) > 300) return false;
  const expected = toBase64(await hmac(secret, `${id}.${timestamp}.${body}`));
  return signature
    .split(' ')
    .map((entry) => entry.split(','))
    .some(([version, sig]) => version === 'v1' && sig !== undefined && equalConstantTime(sig, expected));
}

/** The guide's receiver check: `sha256=<hex HMAC of the raw body>`. */
export async function verifyBodySignature(
  secret: string,
  header: string | undefined,
  body: string,
): Promise<boolean> {
  if (!header?.startsWith('sha256=')) return false;
  return equalConstantTime(header.substring(7), toHex(await hmac(secret, body)));
}
