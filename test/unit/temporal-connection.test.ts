import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Connection } from '@temporalio/client';
import { ConfigError, loadConfig } from '../../src/config.js';
import {
  explainTlsFailure,
  temporalCli,
  temporalConnectionOptions,
  withTlsExplanation,
} from '../../src/temporal/connection.js';

// The files' contents only need to look like PEM here: the connection reads them, the SDK parses them.
const dir = mkdtempSync(path.join(tmpdir(), 'hookline-tls-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
};
const CERT = file('client.pem', '-----BEGIN CERTIFICATE-----\nY2VydA==\n-----END CERTIFICATE-----\n');
const KEY = file('client.key', '-----BEGIN PRIVATE KEY-----\na2V5\n-----END PRIVATE KEY-----\n');
const CA = file('ca.pem', '-----BEGIN CERTIFICATE-----\nY2E=\n-----END CERTIFICATE-----\n');
const NOT_PEM = file('notes.txt', 'not a certificate\n');
const CLOUD = 'hookline-prod.a2b3c.tmprl.cloud:7233';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('Temporal connection settings', () => {
  it('connect in plain text to the embedded dev server or a plain TEMPORAL_ADDRESS', () => {
    assert.deepEqual(
      temporalConnectionOptions(loadConfig({}).temporalSecurity, '127.0.0.1:7233', 'default'),
      {
        address: '127.0.0.1:7233',
      },
    );
    const c = loadConfig({ TEMPORAL_ADDRESS: 'temporal:7233' });
    assert.deepEqual(temporalConnectionOptions(c.temporalSecurity, 'temporal:7233', 'default'), {
      address: 'temporal:7233',
    });
    assert.deepEqual(temporalCli(c.temporalSecurity), { args: [], env: {} });
  });

  it('give mTLS the client certificate pair, the CA and the server name, read from the files', () => {
    const c = loadConfig({
      TEMPORAL_ADDRESS: CLOUD,
      TEMPORAL_NAMESPACE: 'hookline-prod.a2b3c',
      TEMPORAL_TLS_CERT: CERT,
      TEMPORAL_TLS_KEY: KEY,
      TEMPORAL_TLS_CA: CA,
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
    });
    const options = temporalConnectionOptions(c.temporalSecurity, CLOUD, c.temporalNamespace);
    assert.equal(options.address, CLOUD);
    assert.equal(options.apiKey, undefined);
    assert.equal(options.metadata, undefined);
    assert.match(options.tls!.clientCertPair!.crt.toString(), /BEGIN CERTIFICATE/);
    assert.match(options.tls!.clientCertPair!.key.toString(), /BEGIN PRIVATE KEY/);
    assert.match(options.tls!.serverRootCACertificate!.toString(), /Y2E=/);
    assert.equal(options.tls!.serverNameOverride, 'temporal.internal');
    // The CLI gets the same files as flags.
    assert.deepEqual(temporalCli(c.temporalSecurity).args, [
      '--tls',
      '--tls-cert-path',
      CERT,
      '--tls-key-path',
      KEY,
      '--tls-ca-path',
      CA,
      '--tls-server-name',
      'temporal.internal',
    ]);
  });

  it('send a Temporal Cloud API key over TLS with the namespace as metadata, never on a command line', () => {
    const c = loadConfig({
      TEMPORAL_ADDRESS: CLOUD,
      TEMPORAL_NAMESPACE: 'hookline-prod.a2b3c',
      TEMPORAL_API_KEY: 'eyJhbGciOi.secret',
    });
    assert.deepEqual(temporalConnectionOptions(c.temporalSecurity, CLOUD, c.temporalNamespace), {
      address: CLOUD,
      tls: {},
      apiKey: 'eyJhbGciOi.secret',
      metadata: { 'temporal-namespace': 'hookline-prod.a2b3c' },
    });
    const cli = temporalCli(c.temporalSecurity);
    assert.deepEqual(cli.args, ['--tls']);
    assert.deepEqual(cli.env, { TEMPORAL_API_KEY: 'eyJhbGciOi.secret' });
  });

  it('turn TLS on alone with TEMPORAL_TLS=true (a server whose certificate the system trusts)', () => {
    const c = loadConfig({ TEMPORAL_ADDRESS: 'temporal.example.com:7233', TEMPORAL_TLS: 'true' });
    assert.deepEqual(temporalConnectionOptions(c.temporalSecurity, 'temporal.example.com:7233', 'default'), {
      address: 'temporal.example.com:7233',
      tls: {},
    });
  });

  it("are options the SDK's client takes as they are (a real certificate pair)", () => {
    const [crt, key] = [path.join(dir, 'real.pem'), path.join(dir, 'real.key')];
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        crt,
        '-days',
        '1',
        '-subj',
        '/CN=hookline-worker',
      ],
      { stdio: 'ignore' },
    );
    const c = loadConfig({
      TEMPORAL_ADDRESS: CLOUD,
      TEMPORAL_TLS_CERT: crt,
      TEMPORAL_TLS_KEY: key,
      TEMPORAL_API_KEY: 'k3y',
    });
    const connection = Connection.lazy(temporalConnectionOptions(c.temporalSecurity, CLOUD, 'ns'));
    assert.equal(connection.options.address, CLOUD);
    assert.equal(connection.options.metadata['temporal-namespace'], 'ns');
    assert.ok(connection.options.credentials, 'TLS credentials were made from the pair');
  });

  it('list every problem of the settings in one error, with the other bad keys', () => {
    const found = problems({
      PORT: 'abc',
      TEMPORAL_TLS_CERT: CERT,
      TEMPORAL_TLS_CA: path.join(dir, 'missing-ca.pem'),
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
      TEMPORAL_API_KEY: 'k3y',
    });
    assert.deepEqual(found.map((p) => p.split(':')[0]).sort(), [
      'PORT',
      'TEMPORAL_API_KEY', // needs TEMPORAL_ADDRESS
      'TEMPORAL_TLS_CA', // cannot be read
      'TEMPORAL_TLS_CA', // needs TEMPORAL_ADDRESS
      'TEMPORAL_TLS_CERT', // without its key
      'TEMPORAL_TLS_CERT', // needs TEMPORAL_ADDRESS
      'TEMPORAL_TLS_SERVER_NAME', // needs TEMPORAL_ADDRESS
    ]);
    assert.ok(found.some((p) => /TEMPORAL_TLS_CA: cannot read .*missing-ca\.pem \(ENOENT\)/.test(p)));
    assert.ok(found.some((p) => /TEMPORAL_TLS_CERT: set without TEMPORAL_TLS_KEY/.test(p)));
    assert.ok(found.some((p) => /TEMPORAL_API_KEY: needs TEMPORAL_ADDRESS .*embedded dev server/.test(p)));
  });

  it('refuse a key without its certificate, a file that is not PEM, and contradictions', () => {
    const found = problems({
      TEMPORAL_ADDRESS: CLOUD,
      TEMPORAL_TLS_KEY: KEY,
      TEMPORAL_TLS_CA: NOT_PEM,
      TEMPORAL_TLS: 'false',
      TEMPORAL_API_KEY: 'two words',
    });
    assert.deepEqual(found.map((p) => p.split(':')[0]).sort(), [
      'TEMPORAL_API_KEY',
      'TEMPORAL_TLS',
      'TEMPORAL_TLS_CA',
      'TEMPORAL_TLS_KEY',
    ]);
    assert.ok(found.some((p) => /TEMPORAL_TLS_CA: .*notes\.txt holds no PEM certificate/.test(p)));
    assert.ok(found.some((p) => /TEMPORAL_TLS: false contradicts/.test(p)));
    assert.ok(found.some((p) => /TEMPORAL_API_KEY: contains whitespace/.test(p)));
    assert.deepEqual(problems({ TEMPORAL_ADDRESS: CLOUD, TEMPORAL_TLS: 'maybe' }), [
      'TEMPORAL_TLS: must be true or false',
    ]);
  });

  it("say what a failed TLS handshake means, in the settings' terms", () => {
    // The messages of Temporal's core (tonic over rustls) for a wrong CA and a missing client certificate.
    const wrongCa =
      'tonic::transport::Error(Transport, ConnectError(Custom { kind: InvalidData, error: InvalidCertificate(UnknownIssuer) }))';
    const noClientCert =
      'Failed to call GetSystemInfo: code: \'Unknown error\', message: "transport error", source: tonic::transport::Error(Transport, hyper::Error(Io, Custom { kind: InvalidData, error: "received fatal alert: CertificateRequired" }))';
    assert.equal(
      explainTlsFailure(wrongCa),
      "TLS handshake failed: the server's certificate is not signed by TEMPORAL_TLS_CA (or the system's roots)",
    );
    assert.match(
      explainTlsFailure(noClientCert)!,
      /requires a client certificate \(TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY\)/,
    );
    assert.equal(explainTlsFailure('connect ECONNREFUSED 127.0.0.1:7233'), undefined);
    // TLS 1.3: the client may fail to write before it reads the server's alert.
    const closed =
      'Failed to call GetSystemInfo: code: \'Unknown error\', message: "transport error", source: tonic::transport::Error(Transport, hyper::Error(Io, Custom { kind: BrokenPipe, error: "stream closed because of a broken pipe" }))';
    assert.match(
      explainTlsFailure(closed, { tls: true })!,
      /^TLS handshake failed: .*requires a client certificate \(TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY\)/,
    );
    const canceled =
      'Failed to call GetSystemInfo: code: \'The operation was cancelled\', message: "operation was canceled", source: tonic::transport::Error(Transport, hyper::Error(Canceled, "connection closed"))';
    assert.match(explainTlsFailure(canceled, { tls: true })!, /requires a client certificate/);
    assert.equal(explainTlsFailure(canceled, { tls: true, apiKey: 'key' }), undefined);
    assert.equal(explainTlsFailure(closed, { tls: true, clientCert: Buffer.from('pem') }), undefined);
    assert.equal(explainTlsFailure(closed, { tls: false }), undefined);
    const err = withTlsExplanation(new Error(wrongCa)) as Error;
    assert.ok(err.message.startsWith('TLS handshake failed:') && err.message.endsWith(wrongCa));
    const refused = new Error('connect ECONNREFUSED 127.0.0.1:7233');
    assert.equal(withTlsExplanation(refused), refused);
  });
});
