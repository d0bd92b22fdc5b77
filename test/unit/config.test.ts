import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('configuration', () => {
  it('uses the documented defaults on an empty environment', () => {
    const c = loadConfig({});
    assert.equal(c.port, 3000);
    assert.equal(c.dataDir, '.data');
    assert.equal(c.temporalPort, 7233);
    assert.equal(c.temporalUiPort, 8233);
    assert.equal(c.postgresPort, 5433);
    assert.equal(c.temporalNamespace, 'default');
    assert.equal(c.allowPrivateNetworks, false);
    assert.equal(c.role, 'all');
    assert.equal(c.databaseUrl, undefined);
    assert.equal(c.temporalAddress, undefined);
  });

  it('lets the environment override a profile default', () => {
    const profile = { HOOKLINE_ALLOW_PRIVATE_NETWORKS: 'true' };
    assert.equal(loadConfig({}, profile).allowPrivateNetworks, true);
    assert.equal(
      loadConfig({ HOOKLINE_ALLOW_PRIVATE_NETWORKS: 'false' }, profile).allowPrivateNetworks,
      false,
    );
  });

  it('reports every bad key at once', () => {
    try {
      loadConfig({ PORT: 'abc', HOOKLINE_ROLE: 'both', TEMPORAL_ADDRESS: 'nope', DATABASE_URL: 'mysql://x' });
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      const keys = err.problems.map((p) => p.split(':')[0]).sort();
      assert.deepEqual(keys, ['DATABASE_URL', 'HOOKLINE_ROLE', 'PORT', 'TEMPORAL_ADDRESS']);
    }
  });

  it('takes a metrics token of at least 16 characters, and none by default', () => {
    assert.equal(loadConfig({}).metricsToken, undefined);
    assert.equal(loadConfig({ HOOKLINE_METRICS_TOKEN: 'm'.repeat(16) }).metricsToken, 'm'.repeat(16));
    assert.throws(() => loadConfig({ HOOKLINE_METRICS_TOKEN: 'short' }), ConfigError);
  });

  it('requires the settings of the built-in plugins it is asked to load, all named at once', () => {
    assert.throws(
      () => loadConfig({ HOOKLINE_PLUGINS: 'email, operational-webhook' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(err.problems.map((p) => p.split(':')[0]).sort(), [
          'HOOKLINE_ALERT_EMAIL_TO',
          'HOOKLINE_ALERT_SMTP_URL',
          'HOOKLINE_OPS_WEBHOOK_SECRET',
          'HOOKLINE_OPS_WEBHOOK_URL',
        ]);
        return true;
      },
    );
    const c = loadConfig({
      HOOKLINE_PLUGINS: 'email,./mine.mjs',
      HOOKLINE_ALERT_SMTP_URL: 'smtp://127.0.0.1:25',
      HOOKLINE_ALERT_EMAIL_TO: 'ops@example.com',
      MY_PLUGIN_SETTING: 'x',
    });
    assert.deepEqual(c.plugins, ['email', './mine.mjs']);
    assert.equal(c.env.MY_PLUGIN_SETTING, 'x', 'plugins read their settings from the same environment');
    assert.throws(() => loadConfig({ HOOKLINE_ALERT_SMTP_URL: 'http://x' }), /HOOKLINE_ALERT_SMTP_URL/);
  });
});
