import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';

/**
 * How Hookline reaches an external Temporal (TEMPORAL_ADDRESS): TLS, mutual TLS, or a Temporal
 * Cloud API key. Files are read once, at start, where their problems are reported.
 */
export interface TemporalSecurity {
  /** Connect with TLS (on when any TLS setting or an API key is given, or TEMPORAL_TLS=true). */
  tls: boolean;
  /** mTLS: the client's certificate and key (PEM). */
  clientCert?: Buffer;
  clientKey?: Buffer;
  /** The server's CA (PEM), when the system's roots do not vouch for it. */
  serverRootCA?: Buffer;
  /** The name the server's certificate is checked against (and sent as SNI), if not the host. */
  serverName?: string;
  /** Temporal Cloud API key: `Authorization: Bearer <key>` on every call. */
  apiKey?: string;
  /** The files the settings came from, to hand the same files to the `temporal` CLI. */
  paths: { cert?: string; key?: string; ca?: string };
}

/** The raw settings, as strings from the environment. */
export interface TemporalSecurityEnv {
  TEMPORAL_ADDRESS?: string | undefined;
  TEMPORAL_TLS?: string | undefined;
  TEMPORAL_TLS_CERT?: string | undefined;
  TEMPORAL_TLS_KEY?: string | undefined;
  TEMPORAL_TLS_CA?: string | undefined;
  TEMPORAL_TLS_SERVER_NAME?: string | undefined;
  TEMPORAL_API_KEY?: string | undefined;
}

const set = (v: string | undefined) => (v === undefined || v === '' ? undefined : v);

/**
 * Reads and checks the Temporal connection settings. Every problem is returned (the config
 * reports them with the others); `security` is only meaningful when there are none.
 */
export function readTemporalSecurity(env: TemporalSecurityEnv): {
  security: TemporalSecurity;
  problems: string[];
} {
  const problems: string[] = [];
  const paths = {
    cert: set(env.TEMPORAL_TLS_CERT),
    key: set(env.TEMPORAL_TLS_KEY),
    ca: set(env.TEMPORAL_TLS_CA),
  };
  const serverName = set(env.TEMPORAL_TLS_SERVER_NAME);
  const apiKey = set(env.TEMPORAL_API_KEY);
  const tlsFlag = set(env.TEMPORAL_TLS)?.toLowerCase();

  const readPem = (key: string, file: string | undefined, kind: string): Buffer | undefined => {
    if (!file) return undefined;
    let content: Buffer;
    try {
      content = readFileSync(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      problems.push(`${key}: cannot read ${file} (${code ?? (err as Error).message})`);
      return undefined;
    }
    if (!new RegExp(`-----BEGIN [A-Z ]*${kind}-----`).test(content.toString('latin1')))
      problems.push(`${key}: ${file} holds no PEM ${kind.toLowerCase()} ("-----BEGIN … ${kind}-----")`);
    return content;
  };
  const clientCert = readPem('TEMPORAL_TLS_CERT', paths.cert, 'CERTIFICATE');
  const clientKey = readPem('TEMPORAL_TLS_KEY', paths.key, 'PRIVATE KEY');
  const serverRootCA = readPem('TEMPORAL_TLS_CA', paths.ca, 'CERTIFICATE');

  if (paths.cert && !paths.key)
    problems.push('TEMPORAL_TLS_CERT: set without TEMPORAL_TLS_KEY (mTLS needs the certificate and its key)');
  if (paths.key && !paths.cert)
    problems.push('TEMPORAL_TLS_KEY: set without TEMPORAL_TLS_CERT (mTLS needs the certificate and its key)');
  if (tlsFlag !== undefined && tlsFlag !== 'true' && tlsFlag !== 'false')
    problems.push('TEMPORAL_TLS: must be true or false');
  if (apiKey !== undefined && /\s/.test(apiKey))
    problems.push('TEMPORAL_API_KEY: contains whitespace (a line break pasted with the key?)');
  const anyTls = Boolean(paths.cert || paths.key || paths.ca || serverName);
  if (tlsFlag === 'false' && (anyTls || apiKey))
    problems.push(
      `TEMPORAL_TLS: false contradicts ${anyTls ? 'the TEMPORAL_TLS_* settings' : 'TEMPORAL_API_KEY (sent only over TLS)'}`,
    );
  if (!set(env.TEMPORAL_ADDRESS)) {
    const given = Object.entries({
      TEMPORAL_TLS_CERT: paths.cert,
      TEMPORAL_TLS_KEY: paths.key,
      TEMPORAL_TLS_CA: paths.ca,
      TEMPORAL_TLS_SERVER_NAME: serverName,
      TEMPORAL_API_KEY: apiKey,
      TEMPORAL_TLS: tlsFlag === 'true' ? tlsFlag : undefined,
    })
      .filter(([, v]) => v !== undefined)
      .map(([k]) => k);
    for (const key of given)
      problems.push(
        `${key}: needs TEMPORAL_ADDRESS (without it Hookline runs the embedded dev server, which takes neither TLS nor an API key)`,
      );
  }
  const security: TemporalSecurity = {
    tls: anyTls || apiKey !== undefined || tlsFlag === 'true',
    ...(clientCert ? { clientCert } : {}),
    ...(clientKey ? { clientKey } : {}),
    ...(serverRootCA ? { serverRootCA } : {}),
    ...(serverName ? { serverName } : {}),
    ...(apiKey ? { apiKey } : {}),
    paths,
  };
  return { security, problems };
}

/**
 * What `Connection.connect` (the API's client) and `NativeConnection.connect` (the worker) take,
 * built from the settings alone (SDK 1.24: `tls`, `apiKey`, `metadata`). With an API key the
 * namespace also travels as `temporal-namespace` metadata, which Temporal Cloud's regional
 * endpoints (`<region>.<cloud>.api.temporal.io:7233`) route by.
 */
export function temporalConnectionOptions(
  security: TemporalSecurity | undefined,
  address: string,
  namespace: string,
): { address: string; tls?: TLSConfig; apiKey?: string; metadata?: Record<string, string> } {
  if (!security?.tls) return { address };
  const tls: TLSConfig = {
    ...(security.clientCert && security.clientKey
      ? { clientCertPair: { crt: security.clientCert, key: security.clientKey } }
      : {}),
    ...(security.serverRootCA ? { serverRootCACertificate: security.serverRootCA } : {}),
    ...(security.serverName ? { serverNameOverride: security.serverName } : {}),
  };
  return {
    address,
    tls,
    ...(security.apiKey ? { apiKey: security.apiKey, metadata: { 'temporal-namespace': namespace } } : {}),
  };
}

/**
 * The same settings for the `temporal` CLI (`npm run replay -- … --save` exports with it): flags,
 * and the API key in its environment (TEMPORAL_API_KEY), not on a command line others can read.
 */
export function temporalCli(security: TemporalSecurity | undefined): {
  args: string[];
  env: Record<string, string>;
} {
  if (!security?.tls) return { args: [], env: {} };
  return {
    args: [
      '--tls',
      ...(security.paths.cert ? ['--tls-cert-path', security.paths.cert] : []),
      ...(security.paths.key ? ['--tls-key-path', security.paths.key] : []),
      ...(security.paths.ca ? ['--tls-ca-path', security.paths.ca] : []),
      ...(security.serverName ? ['--tls-server-name', security.serverName] : []),
    ],
    env: security.apiKey ? { TEMPORAL_API_KEY: security.apiKey } : {},
  };
}

/**
 * What a failed TLS handshake with Temporal means, in the settings' terms; undefined for an error
 * that is not about TLS. Temporal's core reports rustls errors deep inside a tonic transport error
 * (`InvalidCertificate(UnknownIssuer)`, `received fatal alert: CertificateRequired`), which names
 * neither TLS nor the setting to check.
 *
 * Under TLS 1.3 a server that requires a client certificate checks it after the client has
 * finished its side of the handshake, then sends its alert and closes. Whether the client reads
 * the alert (`CertificateRequired`) or first fails to write (`BrokenPipe`, `ConnectionReset`) is a
 * race, and the second shows as a broken pipe, a reset or a closed connection (`Canceled`, "connection
 * closed"); `security` lets those be explained too when no client certificate is set.
 */
export function explainTlsFailure(
  message: string,
  security?: Pick<TemporalSecurity, 'tls' | 'clientCert' | 'apiKey'>,
): string | undefined {
  const known: Array<[RegExp, string]> = [
    [/UnknownIssuer/, "the server's certificate is not signed by TEMPORAL_TLS_CA (or the system's roots)"],
    [/NotValidForName/, "the server's certificate is not valid for its name (TEMPORAL_TLS_SERVER_NAME)"],
    [/Expired|NotValidYet/, "the server's certificate is expired or not yet valid"],
    [
      /CertificateRequired/,
      'the server requires a client certificate (TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY)',
    ],
    [
      /fatal alert: (BadCertificate|UnknownCA|CertificateUnknown|AccessDenied)/,
      'the server refused the client certificate (TEMPORAL_TLS_CERT)',
    ],
    [/InvalidContentType|CorruptMessage|corrupt message/, 'the server did not answer in TLS (a plain port?)'],
  ];
  const meaning = known.find(([pattern]) => pattern.test(message))?.[1];
  if (meaning) return `TLS handshake failed: ${meaning}`;
  const closed = /BrokenPipe|ConnectionReset|broken pipe|connection closed|UnexpectedEof|unexpected EOF/i;
  // Not with an API key (Temporal Cloud's other way in): its server needs no certificate.
  if (security?.tls && !security.clientCert && !security.apiKey && closed.test(message))
    return 'TLS handshake failed: the server closed the connection; it probably requires a client certificate (TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY)';
  return /\b(tls|certificate|handshake)\b/i.test(message) ? 'TLS handshake failed' : undefined;
}

/** `err` with its TLS meaning in front of its message, when it has one (else `err` itself). */
export function withTlsExplanation(
  err: unknown,
  security?: Pick<TemporalSecurity, 'tls' | 'clientCert' | 'apiKey'>,
): unknown {
  const message = err instanceof Error ? err.message : String(err);
  const meaning = explainTlsFailure(message, security);
  return meaning ? new Error(`${meaning}; ${message}`, { cause: err }) : err;
}
