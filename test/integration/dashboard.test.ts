// The web dashboard in a real browser (Debian's Chromium driven by playwright-core) against the
// real stack: sign in, create an endpoint through the form, see an event in the explorer and the
// monitor's chart move, open its attempts, replay a dead letter. Screenshots of every page go to
// test-artifacts/screenshots/ (git-ignored).
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Receiver } from '../helpers/receiver.js';
import { api, startStackAndReceiver, stopStackAndReceiver, type TestStack } from '../helpers/stack.js';
import { waitUntil } from '../helpers/wait.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = path.resolve('test-artifacts', 'screenshots');
const require = createRequire(import.meta.url);

describe('web dashboard in Chromium', () => {
  let stack: TestStack;
  let receiver: Receiver;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

  before(async () => {
    await mkdir(SHOTS, { recursive: true });
    ({ stack, receiver } = await startStackAndReceiver());
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(15_000);
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page: ${e.message}`));
  });

  after(async () => {
    await browser?.close();
    await stopStackAndReceiver(stack, receiver);
  });

  it('signs in with an API key (a wrong key is refused)', async () => {
    const response = await page.goto(stack.platform.apiUrl!);
    // Only the page's own scripts may run (the test fails on any CSP violation: console errors).
    assert.match(response!.headers()['content-security-policy']!, /script-src 'self' 'sha256-[^']+'/);
    await page.getByLabel('API key').fill('hk_wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not valid' }).waitFor();
    await shot('01-sign-in');
    await page.getByLabel('API key').fill(stack.apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Endpoints' }).waitFor();
    await page.getByText('No endpoints yet').waitFor();
  });

  it('creates an endpoint through the form: server problems beside their fields, a schedule preview, the secret once', async () => {
    await page.getByRole('link', { name: 'New endpoint' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Orders');
    await page.getByLabel('URL').fill('ftp://example.com/hooks');
    await page.getByLabel('Event types').fill('order.*');
    await page.getByLabel('Strategy').selectOption('exponential');
    await page.getByLabel('Attempts').fill('4');
    await page.getByLabel('Base delay (ms)').fill('1000');
    assert.match(
      await page.getByTestId('retry-preview').innerText(),
      /attempt 2 after 1\.0 s, attempt 3 after 2\.0 s, attempt 4 after 4\.0 s — 7\.0 s in all/,
    );
    await page.getByRole('button', { name: 'Add condition' }).click();
    await page.getByLabel('Condition 1 field').fill('payload.order.amount');
    await page.getByLabel('Condition 1 operator').selectOption('gt');
    await page.getByLabel('Condition 1 value').fill('100');
    await page.getByRole('button', { name: 'Add header' }).click();
    await page.getByLabel('Header 1 name').fill('X-Team');
    await page.getByLabel('Header 1 value').fill('shop');
    await page.getByLabel('Deliveries per second').fill('10');
    await page.getByLabel('Burst').fill('5');
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    // The server refuses the URL; its message stands beside the URL field.
    const urlError = page.locator('#url-error');
    await urlError.waitFor();
    assert.match(await urlError.innerText(), /http/i);
    assert.equal(await page.getByLabel('URL').getAttribute('aria-invalid'), 'true');
    await shot('02-endpoint-form-invalid');

    await page.getByLabel('URL').fill(`${receiver.url}/orders`);
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    const secret = await page.getByTestId('secret').innerText();
    assert.match(secret, /^whsec_/);
    await shot('03-endpoint-created');

    const list = await api(stack, 'GET', '/api/endpoints');
    assert.equal(list.body.data.length, 1);
    const ep = list.body.data[0];
    assert.equal(ep.url, `${receiver.url}/orders`);
    assert.deepEqual(ep.events, ['order.*']);
    assert.deepEqual(ep.headers, { 'X-Team': 'shop' });
    assert.equal(ep.retryConfig.strategy, 'exponential');
    assert.equal(ep.retryConfig.maxAttempts, 4);
    assert.deepEqual(ep.rateLimit, { perSecond: 10, burst: 5 });
    assert.deepEqual(ep.filters, {
      logic: 'AND',
      conditions: [{ field: 'payload.order.amount', operator: 'gt', value: 100 }],
    });

    await page.getByRole('link', { name: 'Endpoints', exact: true }).click();
    const row = page.locator(`tr[data-endpoint="${ep.id}"]`);
    await row.waitFor();
    assert.match(await row.innerText(), /enabled[\s\S]*closed/);
    await shot('04-endpoints');
  });

  it('edits an endpoint through the same form, and disables and enables it from the list', async () => {
    const [ep] = (await api(stack, 'GET', '/api/endpoints')).body.data;
    await page.locator(`tr[data-endpoint="${ep.id}"]`).getByRole('link', { name: 'Orders' }).click();
    await page.getByRole('heading', { name: 'Endpoint Orders' }).waitFor();
    assert.equal(await page.getByLabel('Condition 1 field').inputValue(), 'payload.order.amount');
    await page.getByLabel('Name', { exact: true }).fill('Orders EU');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    const saved = (await api(stack, 'GET', `/api/endpoints/${ep.id}`)).body;
    assert.equal(saved.name, 'Orders EU');
    assert.deepEqual(saved.filters, ep.filters, 'an edit keeps the filters it did not touch');

    await page.getByRole('link', { name: 'Endpoints', exact: true }).click();
    const row = page.locator(`tr[data-endpoint="${ep.id}"]`);
    // The state badge, by its exact text: a substring match also finds the actions cell, whose
    // text runs together as "DisableDelete" / "EnableDelete", so the wait ended at once, before the
    // PATCH had answered. The badge changes only when the list is loaded again, after the PATCH.
    await row.getByRole('button', { name: 'Disable' }).click();
    await row.getByText('disabled', { exact: true }).waitFor();
    assert.equal((await api(stack, 'GET', `/api/endpoints/${ep.id}`)).body.enabled, false);
    await row.getByRole('button', { name: 'Enable' }).click();
    await row.getByText('enabled', { exact: true }).waitFor();
    assert.equal((await api(stack, 'GET', `/api/endpoints/${ep.id}`)).body.enabled, true);
  });

  it('shows an event sent through the API in the explorer, with its delivery and attempts', async () => {
    const sent = await api(stack, 'POST', '/api/events', {
      type: 'order.created',
      payload: { order: { id: 'ORD-1', amount: 150 } },
      options: { tags: ['urgent'] },
    });
    assert.equal(sent.status, 202);
    await receiver.waitFor(1, { path: '/orders' });
    await page.getByRole('link', { name: 'Events', exact: true }).click();
    const row = page.locator(`tr[data-event="${sent.body.eventId}"]`);
    await row.waitFor({ timeout: 15_000 });
    await page.getByLabel('Tag').fill('urgent');
    await page.getByRole('button', { name: 'Search' }).click();
    await row.waitFor();
    await shot('05-events');

    await row.getByRole('link').click();
    await page.getByRole('heading', { name: /Event/ }).waitFor();
    const delivery = page.locator('[data-delivery]');
    await delivery.getByText('delivered').waitFor({ timeout: 15_000 });
    assert.ok(await delivery.getByRole('link', { name: /Temporal UI/ }).count());
    // The event's progress, live from the counters PostgreSQL keeps.
    await page
      .locator('[data-progress]')
      .getByText('1 delivered (of 1 matched)')
      .waitFor({ timeout: 15_000 });
    await delivery.getByRole('button', { name: 'Show attempts' }).click();
    const attempt = delivery.locator('table.attempts tbody tr');
    await attempt.first().waitFor();
    assert.match(await attempt.first().innerText(), /delivered[\s\S]*200/);
    await shot('06-event-detail');
  });

  it('charts live traffic on the monitor from the metrics stream', async () => {
    await page.getByRole('link', { name: 'Monitor' }).click();
    await page.getByText('Live: one sample a second').waitFor({ timeout: 10_000 });
    const line = page.getByTestId('chart-line').first();
    await line.waitFor({ state: 'attached' }); // a flat line has no height: "hidden" to Playwright
    const before = await line.getAttribute('d');
    for (let i = 0; i < 5; i++) {
      await api(stack, 'POST', '/api/events', {
        type: 'order.created',
        payload: { order: { amount: 500 + i } },
      });
    }
    await waitUntil(async () => (await line.getAttribute('d')) !== before, 15_000, 200);
    assert.notEqual(Number(await page.getByTestId('eps').innerText()), 0);
    assert.ok(await page.locator('.circuits').getByText('closed').count());
    await shot('07-monitor');
  });

  it('replays a dead letter from its page', async () => {
    const r = await api(stack, 'POST', '/api/endpoints', {
      name: 'Flaky',
      url: `${receiver.url}/flaky`,
      events: ['flaky.*'],
      retryConfig: { maxAttempts: 1 },
    });
    receiver.respond('/flaky', 500);
    const sent = await api(stack, 'POST', '/api/events', { type: 'flaky.created', payload: {} });
    await waitUntil(
      async () =>
        (await api(stack, 'GET', `/api/dead-letters?endpointId=${r.body.id}`)).body.data.length === 1,
    );
    receiver.respond('/flaky', 200);
    await page.getByRole('link', { name: 'Dead letters' }).click();
    const row = page.locator('tr[data-dead-letter]').filter({ hasText: sent.body.eventId });
    await row.waitFor();
    await shot('08-dead-letters');
    await row.getByRole('button', { name: 'Replay' }).click();
    await page.getByRole('status').filter({ hasText: 'Replaying' }).waitFor();
    await receiver.waitFor(2, { path: '/flaky' });
    await waitUntil(async () => {
      const e = await api(stack, 'GET', `/api/events/${sent.body.eventId}`);
      return e.body.deliveries[0]?.status === 'delivered';
    });
  });

  it('passes an axe-core audit (WCAG 2.1 A and AA) on every page, at laptop and phone widths', async () => {
    // Evaluated through the DevTools protocol, so the page's CSP (own scripts only) does not apply.
    const axe = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
    const events = await api(stack, 'GET', '/api/events?limit=1');
    const endpoints = await api(stack, 'GET', '/api/endpoints');
    const pages = [
      '#/endpoints',
      '#/endpoints/new',
      `#/endpoints/${endpoints.body.data[0].id}`,
      '#/monitor',
      '#/events',
      `#/events/${events.body.data[0].id}`,
      '#/dead-letters',
    ];
    const found: string[] = [];
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 844 });
      for (const hash of pages) {
        await page.goto(`${stack.platform.apiUrl}/${hash}`);
        await page.locator('main h1').waitFor();
        await page.getByText('Loading…').waitFor({ state: 'detached' });
        if (hash === '#/endpoints/new') await page.getByRole('button', { name: 'Add condition' }).click();
        await page.evaluate(axe);
        const violations = await page.evaluate<
          { id: string; impact: string; nodes: { target: string[] }[] }[]
        >(
          `axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
             .then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => ({ target: n.target })) })))`,
        );
        for (const v of violations)
          found.push(
            `${width}px ${hash}: ${v.id} (${v.impact}) at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
          );
      }
    }
    assert.deepEqual(found, []);
  });

  it('fits a phone screen, labels every control, and logged no console error', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [hash, name] of [
      ['#/endpoints', '09-phone-endpoints'],
      ['#/events', '10-phone-events'],
      ['#/monitor', '11-phone-monitor'],
    ] as const) {
      await page.goto(`${stack.platform.apiUrl}/${hash}`);
      await page.locator('main h1').waitFor();
      await page.getByText('Loading…').waitFor({ state: 'detached' });
      const overflow = await page.evaluate<number>(
        'document.documentElement.scrollWidth - window.innerWidth',
      );
      assert.ok(overflow <= 0, `${hash} scrolls sideways by ${overflow}px on a phone`);
      await shot(name);
    }
    await page.goto(`${stack.platform.apiUrl}/#/endpoints/new`);
    await page.getByRole('button', { name: 'Add condition' }).click();
    // Evaluated in the page (this file is type-checked without the DOM library).
    const unlabelled = await page.evaluate<string[]>(`
      [...document.querySelectorAll('input, select, button')]
        .filter((el) => !(el.labels?.length || el.getAttribute('aria-label') || el.textContent.trim()))
        .map((el) => el.outerHTML.slice(0, 80))`);
    assert.deepEqual(unlabelled, []);
    // The browser logs every non-2xx answer; the only ones are the 401 of the wrong key and the 400
    // of the invalid form, both provoked above.
    const unexpected = problems.filter((p) => !/Failed to load resource: .* (400|401) /.test(p));
    assert.deepEqual(unexpected, []);
    assert.equal(problems.length - unexpected.length, 2);
  });
});
