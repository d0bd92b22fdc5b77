import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { startDevServer, type DevServer } from '../../src/temporal/dev-server.js';
import { freePort } from '../helpers/ports.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { api, startStack, type TestStack } from '../helpers/stack.js';
import { waitUntil } from '../helpers/wait.js';

/** The name on the proxy's certificate: reached at 127.0.0.1, checked by TEMPORAL_TLS_SERVER_NAME. */
const SERVER_NAME = 'temporal.hookline.test';

const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A certificate authority of its own (key and self-signed certificate) in `dir`. */
function authority(dir: string, name: string) {
  const ca = { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
  openssl(
    'req',
    '-x509',
    ...EC_KEY,
    '-keyout',
    ca.key,
    '-out',
    ca.cert,
    '-days',
    '1',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  return ca;
}

/** A leaf certificate signed by `ca`, for a server (with `san`) or a client. */
async function leaf(
  dir: string,
  ca: { cert: string; key: string },
  name: string,
  usage: 'serverAuth' | 'clientAuth',
  san?: string,
) {
  const out = { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
  const csr = path.join(dir, `${name}.csr`);
  const ext = path.join(dir, `${name}.ext`);
  await writeFile(
    ext,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      `extendedKeyUsage=${usage}`,
      ...(san ? [`subjectAltName=${san}`] : []),
    ].join('\n'),
  );
  openssl('req', ...EC_KEY, '-keyout', out.key, '-out', csr, '-subj', `/CN=${name}`);
  openssl(
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-out',
    out.cert,
    '-days',
    '1',
    '-extfile',
    ext,
  );
  return out;
}

/**
 * A TLS listener in front of the dev server's plain gRPC port, as a TLS-terminating load balancer
 * would be: it requires a client certificate from `ca` (mTLS), offers HTTP/2 by ALPN, and pipes
 * each connection as bytes to the dev server (HTTP/2 runs through it). `clients` names the
 * certificate of every connection it let through.
 */
async function tlsProxy(opts: { cert: string; key: string; ca: string; upstreamPort: number }) {
  const clients: string[] = [];
  const server: Server = createServer(
    {
      cert: await readFile(opts.cert),
      key: await readFile(opts.key),
      ca: await readFile(opts.ca),
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
    },
    (socket: TLSSocket) => {
      clients.push(String(socket.getPeerCertificate().subject?.CN));
      const upstream = connect(opts.upstreamPort, '127.0.0.1');
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    },
  );
  // A refused handshake (wrong CA, no client certificate) is the client's error to report.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    clients,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// Issue 15, point 2: TEMPORAL_TLS_* against a real TLS endpoint, with the dev server behind it.
describe('Temporal over mutual TLS (a TLS listener in front of the dev server)', () => {
  let dir: string;
  let temporal: DevServer | undefined;
  let proxy: Awaited<ReturnType<typeof tlsProxy>> | undefined;
  let receiver: Receiver | undefined;
  let stack: TestStack | undefined;
  let tlsEnv: Record<string, string>;
  let wrongCa: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'hookline-tls-'));
    const ca = authority(dir, 'hookline-test-ca');
    wrongCa = authority(dir, 'another-ca').cert;
    const server = await leaf(dir, ca, 'temporal-frontend', 'serverAuth', `DNS:${SERVER_NAME}`);
    const client = await leaf(dir, ca, 'hookline-worker', 'clientAuth');
    temporal = await startDevServer({
      dataDir: path.join(dir, 'temporal'),
      port: await freePort(),
      uiPort: await freePort(),
      namespace: 'default',
    });
    proxy = await tlsProxy({ ...server, ca: ca.cert, upstreamPort: Number(temporal.address.split(':')[1]) });
    receiver = await startReceiver();
    tlsEnv = {
      TEMPORAL_ADDRESS: proxy.address,
      TEMPORAL_TLS_CERT: client.cert,
      TEMPORAL_TLS_KEY: client.key,
      TEMPORAL_TLS_CA: ca.cert,
      TEMPORAL_TLS_SERVER_NAME: SERVER_NAME,
    };
  });

  after(async () => {
    await stack?.stop();
    await proxy?.close();
    await temporal?.stop();
    await receiver?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('delivers an event with the worker and the API connected through the TLS listener', async () => {
    stack = await startStack({ env: tlsEnv });
    assert.equal(stack.platform.temporalAddress, proxy!.address);
    const ep = await api(stack, 'POST', '/api/endpoints', {
      name: 'tls',
      url: `${receiver!.url}/tls`,
      events: ['tls.*'],
    });
    assert.equal(ep.status, 201);
    const sent = await api(stack, 'POST', '/api/events', { type: 'tls.ok', payload: { over: 'mtls' } });
    assert.equal(sent.status, 202);
    const [got] = await receiver!.waitFor(1, { path: '/tls', timeoutMs: 60_000 });
    assert.equal(JSON.parse(got!.body).over, 'mtls');
    assert.ok(proxy!.clients.length > 0, 'connections went through the listener');
    assert.deepEqual([...new Set(proxy!.clients)], ['hookline-worker'], 'each with the client certificate');
    const health = (await (await fetch(`${stack.platform.apiUrl}/health`)).json()) as { temporal: string };
    assert.equal(health.temporal, 'ok');
  });

  const refusals: Array<[string, (env: Record<string, string>) => Record<string, string>, RegExp]> = [
    [
      'a CA that did not sign the server certificate',
      (env) => ({ ...env, TEMPORAL_TLS_CA: wrongCa }),
      /^TLS handshake failed: the server's certificate is not signed by TEMPORAL_TLS_CA/,
    ],
    [
      'no client certificate',
      ({ TEMPORAL_TLS_CERT: _c, TEMPORAL_TLS_KEY: _k, ...env }) => env,
      // Either the server's alert is read (it requires one) or the write fails first (TLS 1.3).
      /^TLS handshake failed: .*requires a client certificate \(TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY\)/,
    ],
  ];
  for (const [name, change, says] of refusals) {
    it(`with ${name}, waits for Temporal and says why: a TLS error`, async () => {
      const logs: string[] = [];
      const stopping = new AbortController();
      const starting = startStack({ env: change(tlsEnv), logs, stopping: stopping.signal });
      starting.catch(() => undefined);
      let line: string | undefined;
      await waitUntil(
        async () =>
          (line = logs.find((l) => l.includes('Temporal (TEMPORAL_ADDRESS) is not reachable'))) !== undefined,
        60_000,
        100,
      );
      stopping.abort();
      await assert.rejects(starting, /stopped while waiting for Temporal/);
      const err = String((JSON.parse(line!) as { err?: unknown }).err);
      process.stdout.write(`# ${name}: ${err}\n`);
      assert.match(err, says);
    });
  }
});
