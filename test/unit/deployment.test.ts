import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
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

  it('offers the Temporal Cloud and TLS settings as commented entries the code reads', () => {
    const text = readFileSync('docker-compose.yml', 'utf8');
    const commented = [...text.matchAll(/^\s*# (TEMPORAL_[A-Z_]+):/gm)].map((m) => m[1]!);
    assert.deepEqual(commented.sort(), [
      'TEMPORAL_API_KEY',
      'TEMPORAL_TLS',
      'TEMPORAL_TLS_CA',
      'TEMPORAL_TLS_CERT',
      'TEMPORAL_TLS_KEY',
      'TEMPORAL_TLS_SERVER_NAME',
    ]);
    for (const key of commented) assert.ok(CONFIG_KEYS.includes(key), key);
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
    for (const service of ['hookline-api', 'hookline-worker']) {
      assert.equal(
        (compose.services[service] as { build?: string }).build,
        '.',
        `${service} is built from the Dockerfile`,
      );
    }
  });
});

/** The Dockerfile's stages: each FROM line and the instructions under it (continuations joined). */
function dockerStages(text: string): Array<{ from: string; lines: string[] }> {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages: Array<{ from: string; lines: string[] }> = [];
  for (const line of lines) {
    if (line.startsWith('FROM ')) stages.push({ from: line, lines: [] });
    else stages.at(-1)?.lines.push(line);
  }
  return stages;
}

/** Packages the shipped code imports at run time (type-only imports are erased by the build). */
function runtimeImports(): Set<string> {
  const files = ['src', 'workflows', 'activities']
    .flatMap((dir) => readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => path.join(dir, f)))
    .filter((f) => f.endsWith('.ts'))
    .concat(['scripts/replay.ts', 'scripts/backup.ts', 'scripts/history-json.ts']);
  const packages = new Set<string>();
  for (const file of files) {
    const code = readFileSync(file, 'utf8');
    for (const m of code.matchAll(/^import (?!type )[^;]*?from '([^.'][^']*)'|import\('([^.'][^']*)'\)/gm)) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith('node:')) continue;
      packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  }
  return packages;
}

describe('Docker image', () => {
  const dockerfile = readFileSync('Dockerfile', 'utf8');
  const stages = dockerStages(dockerfile);
  const build = stages[0]!;
  const run = stages.at(-1)!;
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
    scripts: Record<string, string>;
  };

  it('builds in one stage and runs in another', () => {
    assert.equal(stages.length, 2);
    assert.match(build.from, /^FROM node:20\S* AS build$/);
    assert.match(run.from, /^FROM node:20\S*$/);
  });

  it('builds the server and its workflow bundle with every dependency, then drops the dev ones', () => {
    const steps = build.lines.join('\n');
    const install = build.lines.findIndex((l) => /^RUN npm ci\b.*--include=dev/.test(l));
    const prune = build.lines.findIndex((l) => /npm prune --omit=dev/.test(l));
    assert.ok(install >= 0, 'npm ci with the dev dependencies (the build needs them)');
    assert.ok(prune > install, 'the dev dependencies are pruned after the build');
    assert.ok(
      build.lines.findIndex((l) => l === 'COPY . .') < install,
      'the sources are in before npm ci runs prepare',
    );
    // `npm ci` builds through `prepare`: the server, its bundle and the SDK.
    assert.match(pkg.scripts.prepare!, /scripts\/build-sdk\.mjs/);
    assert.match(pkg.scripts.prepare!, /scripts\/build\.mjs/);
    assert.equal(pkg.scripts.build, 'node scripts/build.mjs');
    assert.match(steps, /test -s dist\/workflow-bundle\.js/, 'the build stage checks the bundle exists');
  });

  it('runs compiled JavaScript and loads the prebuilt bundle, without TypeScript or webpack at start', () => {
    assert.ok(run.lines.includes('ENV NODE_ENV=production HOOKLINE_HOST=0.0.0.0'));
    const copies = run.lines.filter((l) => l.startsWith('COPY'));
    assert.ok(
      copies.every((l) => l.startsWith('COPY --from=build ')),
      'only build output is copied',
    );
    const copied = copies.map((l) => l.split(/\s+/)[2]);
    assert.deepEqual(copied.sort(), [
      '/app/dashboard',
      '/app/dist',
      '/app/node_modules',
      '/app/package.json',
      '/app/sdk/dist',
      '/app/sdk/package.json',
    ]);
    const cmd = JSON.parse(/^CMD (.+)$/m.exec(dockerfile)![1]!) as string[];
    assert.deepEqual(cmd, ['node', 'dist/src/main.js']);
    assert.ok(!run.lines.some((l) => /tsx|npm (ci|install)/.test(l)));
    // The worker of the compiled code takes dist/workflow-bundle.js (src/temporal/worker.ts).
    const worker = readFileSync('src/temporal/worker.ts', 'utf8');
    assert.match(worker, /new URL\('\.\.\/\.\.\/workflow-bundle\.js', import\.meta\.url\)/);
  });

  it('has every package the shipped code imports among the production dependencies', () => {
    const missing = [...runtimeImports()].filter((name) => !pkg.dependencies[name]);
    assert.deepEqual(missing, [], 'imported at run time but not a production dependency');
    // The build itself runs in production installs too (npm start builds when sources changed).
    for (const dep of ['esbuild', '@temporalio/worker']) assert.ok(pkg.dependencies[dep], dep);
  });

  it('keeps local data, tools and build output out of the build context', () => {
    const ignored = readFileSync('.dockerignore', 'utf8').split('\n');
    for (const entry of ['node_modules', '.data', '.tools', 'dist', 'sdk/dist', '.git'])
      assert.ok(ignored.includes(entry), entry);
  });
});
