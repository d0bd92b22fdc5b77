import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { CONFIG_KEYS, loadConfig } from '../../src/config.js';
import { createMetrics } from '../../src/metrics.js';
import { searchAttributes } from '../../workflows/contract.js';

// There is no Docker engine here: these tests check the stack's structure against the code.
const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as {
  services: Record<
    string,
    { environment?: Record<string, unknown>; ports?: string[]; volumes?: string[]; command?: string[] }
  >;
  volumes: Record<string, unknown>;
};
const alerts = parse(readFileSync('deploy/prometheus/alerts.yml', 'utf8')) as {
  groups: Array<{ rules: Array<{ alert: string; expr: string }> }>;
};
const prometheus = parse(readFileSync('deploy/prometheus/prometheus.yml', 'utf8')) as {
  scrape_configs: Array<{
    job_name: string;
    static_configs: Array<{ targets: string[] }>;
    dns_sd_configs: Array<{ names: string[]; port: number }>;
  }>;
};

/** Every metric the code exports, read from a fresh registry. */
async function exportedMetrics(): Promise<Set<string>> {
  const metrics = createMetrics({ perEndpoint: true });
  metrics.eventReceived('a.b');
  metrics.attemptSent('ep_1', 2, '200', 0.1);
  metrics.deadLettered('ep_1');
  const none = { pending: 0, oldestSeconds: 0 };
  metrics.observeDispatchBacklog({ current: () => none, added() {}, refresh: async () => none, stop() {} });
  const names = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
  for (const n of [...names]) for (const suffix of ['_bucket', '_count', '_sum']) names.add(n + suffix);
  // The two gauges read at scrape time need a database; their names are fixed here.
  names.add('hookline_queue_size').add('hookline_circuit_breaker_state').add('up');
  names.add('hookline_workflows_failing_tasks');
  return names;
}

describe('docker-compose stack', () => {
  it('has every service of the production shape', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), [
      'grafana',
      'hookline-api',
      'hookline-worker',
      'postgres',
      'prometheus',
      'temporal',
      'temporal-schema',
      'temporal-setup',
      'temporal-ui',
    ]);
    assert.deepEqual(Object.keys(compose.volumes).sort(), [
      'grafana-data',
      'postgres-data',
      'prometheus-data',
    ]);
  });

  it('configures Hookline only with variables the code reads, and validly', () => {
    for (const name of ['hookline-api', 'hookline-worker']) {
      const env = Object.fromEntries(
        Object.entries(compose.services[name]!.environment ?? {}).map(([k, v]) => [
          k,
          String(v).replace(/\$\{[^}]+\}/g, 'x'.repeat(20)),
        ]),
      );
      const known = new Set(CONFIG_KEYS);
      for (const key of Object.keys(env))
        assert.ok(known.has(key), `${name}: ${key} is not read by Hookline`);
      const config = loadConfig(env);
      assert.equal(config.allowPrivateNetworks, false);
      assert.ok(
        config.databaseUrl && config.temporalAddress,
        `${name} uses the external PostgreSQL and Temporal`,
      );
    }
    assert.equal(loadConfig(compose.services['hookline-api']!.environment as never).role, 'api');
    assert.equal(loadConfig(compose.services['hookline-worker']!.environment as never).role, 'worker');
    assert.ok(compose.services['hookline-api']!.ports!.includes('3000:3000'));
  });

  it('registers every search attribute of the design in the Temporal setup', () => {
    const setup = (compose.services['temporal-setup']!.command ?? []).join(' ');
    for (const key of Object.values(searchAttributes)) assert.match(setup, new RegExp(key.name), key.name);
    assert.match(setup, /HooklineAttempts --type Int/);
  });

  it('scrapes the API and every worker replica on the ports they serve', () => {
    const job = prometheus.scrape_configs.find((j) => j.job_name === 'hookline')!;
    assert.deepEqual(job.static_configs[0]!.targets, ['hookline-api:3000']);
    assert.deepEqual(job.dns_sd_configs[0]!.names, ['hookline-worker']);
    assert.equal(
      String(job.dns_sd_configs[0]!.port),
      String(compose.services['hookline-worker']!.environment!.HOOKLINE_METRICS_PORT),
    );
    const mounts = compose.services.prometheus!.volumes!.join(' ');
    assert.match(mounts, /prometheus\.yml/);
    assert.match(mounts, /alerts\.yml/);
  });

  it("has the guide's alert rules, naming only metrics the code exports", async () => {
    const rules = alerts.groups.flatMap((g) => g.rules);
    assert.deepEqual(rules.map((r) => r.alert).sort(), [
      'CircuitBreakerOpen',
      'DispatchBacklogAge',
      'HighErrorRate',
      'HighResponseTime',
      'QueueBacklog',
      'ServiceDown',
      'WorkflowTasksFailing',
    ]);
    const exported = await exportedMetrics();
    for (const rule of rules) {
      const used = rule.expr.match(/\b(hookline_[a-z_]+|up)\b/g) ?? [];
      assert.ok(used.length > 0, rule.alert);
      for (const name of used)
        assert.ok(exported.has(name), `${rule.alert} uses ${name}, which Hookline does not export`);
    }
  });

  it('provisions Grafana with the Prometheus datasource and a dashboard of exported metrics', async () => {
    const dashboard = JSON.parse(readFileSync('deploy/grafana/dashboards/hookline.json', 'utf8')) as {
      panels: Array<{ targets: Array<{ expr: string }> }>;
    };
    const exported = await exportedMetrics();
    for (const expr of dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr))) {
      for (const name of expr.match(/\bhookline_[a-z_]+\b/g) ?? []) assert.ok(exported.has(name), name);
    }
    const datasource = parse(readFileSync('deploy/grafana/provisioning/datasources/prometheus.yml', 'utf8'));
    assert.equal(datasource.datasources[0].url, 'http://prometheus:9090');
    assert.match(compose.services.grafana!.volumes!.join(' '), /deploy\/grafana\/dashboards/);
  });

  it('builds an image whose command runs with production dependencies only', () => {
    const dockerfile = readFileSync('Dockerfile', 'utf8');
    assert.match(dockerfile, /NODE_ENV=production/);
    const cmd = /^CMD (.+)$/m.exec(dockerfile)?.[1];
    assert.deepEqual(JSON.parse(cmd!), ['node', '--import', 'tsx', 'src/main.ts']);
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
      dependencies: Record<string, string>;
      scripts: Record<string, string>;
    };
    assert.ok(pkg.dependencies.tsx, 'tsx must be a dependency, not a devDependency');
    // Everything `npm ci` runs (postinstall, prepare) must be in the image before it runs, with
    // production dependencies only.
    const beforeInstall = dockerfile.slice(0, dockerfile.indexOf('RUN npm ci'));
    for (const script of [pkg.scripts.postinstall!, pkg.scripts.prepare!]) {
      const file = /node (\S+)/.exec(script)?.[1];
      assert.ok(
        file && beforeInstall.includes(`COPY ${file.split('/')[0]} `),
        `${file} is copied before npm ci`,
      );
    }
    assert.match(beforeInstall, /COPY sdk /, 'prepare builds sdk/src');
    for (const dep of ['esbuild', 'preact', 'htm', 'nodemailer']) {
      assert.ok(pkg.dependencies[dep], `${dep} is needed at run time (or by prepare) in the image`);
    }
    for (const service of ['hookline-api', 'hookline-worker']) {
      assert.equal(
        (compose.services[service] as { build?: string }).build,
        '.',
        `${service} is built from the Dockerfile`,
      );
    }
  });
});
