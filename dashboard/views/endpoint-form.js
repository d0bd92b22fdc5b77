// Create or edit an endpoint: URL, event types, headers, retry policy with its delay schedule,
// circuit breaker, throttle, filters built from rows; the secret is shown once (creation or rotation).
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, ApiError } from '../api.js';
import { delaySchedule, resolveRetryConfig } from '../retry.js';
import { ErrorBox, fmtMs, html, Notice } from '../ui.js';
// The server's own lists (src/domain/vocabulary.ts, served compiled).
import { FILTER_OPERATORS as OPERATORS, RETRY_STRATEGIES as STRATEGIES } from '../vocabulary.js';

const blank = () => ({
  name: '',
  url: '',
  events: '*',
  headers: [],
  retry: {
    maxAttempts: 8,
    strategy: 'custom',
    baseDelay: 5000,
    maxDelay: 36_000_000,
    jitter: true,
    schedule: '5000, 300000, 1800000, 7200000, 18000000, 36000000, 36000000',
  },
  breaker: { threshold: 5, cooldown: 60000 },
  // Empty: unthrottled.
  rate: { perSecond: '', burst: '' },
  timeout: 15000,
  logic: 'AND',
  conditions: [],
});

/** A filter value typed in a box: JSON when it parses (numbers, booleans, arrays), else the text. */
function parseValue(text, operator) {
  if (operator === 'exists') return text.trim() !== 'false';
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Flat rows of one group (nested groups made through the API are kept but not edited here). */
function fromEndpoint(e) {
  const flat = (e.filters?.conditions ?? []).filter((c) => c.field);
  return {
    name: e.name,
    url: e.url,
    events: e.events.join(', '),
    headers: Object.entries(e.headers ?? {}).map(([name, value]) => ({ name, value })),
    retry: { ...e.retryConfig, schedule: (e.retryConfig.schedule ?? []).join(', ') },
    breaker: { ...e.circuitBreaker },
    rate: e.rateLimit
      ? { perSecond: e.rateLimit.perSecond, burst: e.rateLimit.burst }
      : { perSecond: '', burst: '' },
    timeout: e.timeout,
    logic: e.filters?.logic ?? 'AND',
    conditions: flat.map((c) => ({
      field: c.field,
      operator: c.operator,
      value: typeof c.value === 'string' ? c.value : JSON.stringify(c.value),
    })),
    nested: (e.filters?.conditions ?? []).filter((c) => !c.field),
  };
}

function toBody(f) {
  const schedule = f.retry.schedule
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const conditions = [
    ...f.conditions.map((c) => ({
      field: c.field,
      operator: c.operator,
      value: parseValue(c.value, c.operator),
    })),
    ...(f.nested ?? []),
  ];
  return {
    name: f.name,
    url: f.url,
    events: f.events
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    headers: Object.fromEntries(f.headers.filter((h) => h.name).map((h) => [h.name, h.value])),
    retryConfig: {
      maxAttempts: Number(f.retry.maxAttempts),
      strategy: f.retry.strategy,
      baseDelay: Number(f.retry.baseDelay),
      maxDelay: Number(f.retry.maxDelay),
      jitter: Boolean(f.retry.jitter),
      ...(f.retry.strategy === 'custom' ? { schedule } : {}),
    },
    circuitBreaker: { threshold: Number(f.breaker.threshold), cooldown: Number(f.breaker.cooldown) },
    // No rate: unthrottled (null also clears it on an edit). No burst: the server's default (1).
    rateLimit:
      String(f.rate.perSecond).trim() === ''
        ? null
        : {
            perSecond: Number(f.rate.perSecond),
            ...(String(f.rate.burst).trim() === '' ? {} : { burst: Number(f.rate.burst) }),
          },
    timeout: Number(f.timeout),
    filters: conditions.length ? { logic: f.logic, conditions } : null,
  };
}

function Field({ id, label, error, hint, children }) {
  return html`<div class=${`field${error ? ' invalid' : ''}`}>
    <label for=${id}>${label}</label>
    ${children}
    ${hint ? html`<p class="hint">${hint}</p>` : null}
    ${error ? html`<p class="field-error" id=${`${id}-error`} role="alert">${error}</p>` : null}
  </div>`;
}

export function EndpointForm({ id: routeId }) {
  // After a create, the page edits the new endpoint (and keeps showing its secret once).
  const [id, setId] = useState(routeId);
  const [form, setForm] = useState(id ? null : blank());
  const [error, setError] = useState(null);
  const [secret, setSecret] = useState(null);
  const [notice, setNotice] = useState(null);
  const [saving, setSaving] = useState(false);

  useEffect(() => {
    setId(routeId);
    if (routeId) api('GET', `/api/endpoints/${routeId}`).then((e) => setForm(fromEndpoint(e)), setError);
  }, [routeId]);

  const preview = useMemo(() => {
    if (!form) return [];
    try {
      // The server's own code (src/domain/retry.ts, served as /dashboard/retry.js).
      const config = resolveRetryConfig(toBody(form).retryConfig);
      const sane = [config.maxAttempts, config.baseDelay, config.maxDelay].every(Number.isFinite);
      return sane && config.maxAttempts >= 1 && config.maxAttempts <= 50 ? delaySchedule(config) : [];
    } catch {
      return [];
    }
  }, [form]);

  if (!form) return html`<${ErrorBox} error=${error} />${error ? null : html`<p>Loading…</p>`}`;

  const set = (patch) => setForm({ ...form, ...patch });
  const fieldError = (path) => (error instanceof ApiError ? error.field(path) : null);
  const input = (path, value, onInput, attrs = {}) => {
    const err = fieldError(path);
    return html`<input id=${path} value=${value} onInput=${(e) => onInput(e.target.value)}
      aria-invalid=${err ? 'true' : undefined} aria-describedby=${err ? `${path}-error` : undefined} ...${attrs} />`;
  };

  const save = async (e) => {
    e.preventDefault();
    setSaving(true);
    setError(null);
    setNotice(null);
    try {
      const body = toBody(form);
      if (id) {
        await api('PATCH', `/api/endpoints/${id}`, body);
        setNotice('Saved.');
      } else {
        const created = await api('POST', '/api/endpoints', body);
        setSecret(created.security.secret);
        setNotice(`Created ${created.name}.`);
        setId(created.id);
        history.replaceState(null, '', `#/endpoints/${created.id}`);
      }
    } catch (err) {
      setError(err);
    } finally {
      setSaving(false);
    }
  };
  const rotate = async () => {
    try {
      const rotated = await api('POST', `/api/endpoints/${id}/secret/rotate`, { gracePeriod: 86400 });
      setSecret(rotated.security.secret);
      setNotice('Secret rotated: the old secret keeps signing for 24 hours.');
    } catch (err) {
      setError(err);
    }
  };

  const rows = form.conditions;
  const setRow = (i, patch) => set({ conditions: rows.map((r, j) => (j === i ? { ...r, ...patch } : r)) });
  const headers = form.headers;
  const setHeader = (i, patch) => set({ headers: headers.map((h, j) => (j === i ? { ...h, ...patch } : h)) });

  return html`<section>
    <h1>${id ? `Endpoint ${form.name}` : 'New endpoint'}</h1>
    <${Notice} text=${notice} />
    ${
      secret
        ? html`<div class="secret" role="status">
          <strong>Signing secret — shown once, copy it now:</strong>
          <code data-testid="secret">${secret}</code>
        </div>`
        : null
    }
    ${
      error && !(error instanceof ApiError && error.problem.errors)
        ? html`<${ErrorBox} error=${error} />`
        : error
          ? html`<p class="error" role="alert">${error.problem.errors.length} problem(s): see the fields below.</p>`
          : null
    }
    <form onSubmit=${save} novalidate>
      <fieldset>
        <legend>Where</legend>
        <${Field} id="name" label="Name" error=${fieldError('name')}>${input('name', form.name, (v) => set({ name: v }))}<//>
        <${Field} id="url" label="URL" error=${fieldError('url')}>${input('url', form.url, (v) => set({ url: v }), { type: 'url', placeholder: 'https://example.com/webhooks' })}<//>
        <${Field} id="events" label="Event types" error=${fieldError('events')} hint="Comma-separated: order.created, order.*, or *">
          ${input('events', form.events, (v) => set({ events: v }))}
        <//>
        <${Field} id="timeout" label="Timeout (ms)" error=${fieldError('timeout')}>
          ${input('timeout', form.timeout, (v) => set({ timeout: v }), { type: 'number', min: 1000 })}
        <//>
      </fieldset>

      <fieldset>
        <legend>Custom headers</legend>
        ${headers.map(
          (hd, i) => html`<div class="row">
            <input aria-label=${`Header ${i + 1} name`} placeholder="X-Team" value=${hd.name} onInput=${(e) => setHeader(i, { name: e.target.value })} />
            <input aria-label=${`Header ${i + 1} value`} placeholder="value" value=${hd.value} onInput=${(e) => setHeader(i, { value: e.target.value })} />
            <button type="button" class="small" onClick=${() => set({ headers: headers.filter((_, j) => j !== i) })}>Remove</button>
          </div>`,
        )}
        ${fieldError('headers') ? html`<p class="field-error" role="alert">${fieldError('headers')}</p>` : null}
        <button type="button" class="small" onClick=${() => set({ headers: [...headers, { name: '', value: '' }] })}>Add header</button>
      </fieldset>

      <fieldset>
        <legend>Retries</legend>
        <div class="grid">
          <${Field} id="retryConfig.strategy" label="Strategy">
            <select id="retryConfig.strategy" value=${form.retry.strategy} onChange=${(e) => set({ retry: { ...form.retry, strategy: e.target.value } })}>
              ${STRATEGIES.map((s) => html`<option value=${s}>${s}</option>`)}
            </select>
          <//>
          <${Field} id="retryConfig.maxAttempts" label="Attempts" error=${fieldError('retryConfig.maxAttempts')}>
            ${input('retryConfig.maxAttempts', form.retry.maxAttempts, (v) => set({ retry: { ...form.retry, maxAttempts: v } }), { type: 'number', min: 1, max: 50 })}
          <//>
          <${Field} id="retryConfig.baseDelay" label="Base delay (ms)" error=${fieldError('retryConfig.baseDelay')}>
            ${input('retryConfig.baseDelay', form.retry.baseDelay, (v) => set({ retry: { ...form.retry, baseDelay: v } }), { type: 'number' })}
          <//>
          <${Field} id="retryConfig.maxDelay" label="Max delay (ms)" error=${fieldError('retryConfig.maxDelay')}>
            ${input('retryConfig.maxDelay', form.retry.maxDelay, (v) => set({ retry: { ...form.retry, maxDelay: v } }), { type: 'number' })}
          <//>
        </div>
        ${
          form.retry.strategy === 'custom'
            ? html`<${Field} id="retryConfig.schedule" label="Schedule (ms, comma-separated)" error=${fieldError('retryConfig.schedule')}>
              ${input('retryConfig.schedule', form.retry.schedule, (v) => set({ retry: { ...form.retry, schedule: v } }))}
            <//>`
            : null
        }
        <label class="check"><input type="checkbox" checked=${form.retry.jitter} onChange=${(e) => set({ retry: { ...form.retry, jitter: e.target.checked } })} /> Jitter (±20 %)</label>
        <p class="preview" data-testid="retry-preview">
          Attempt 1 at once${preview.map((ms, i) => `, attempt ${i + 2} after ${fmtMs(ms)}`)}${preview.length ? ` — ${fmtMs(preview.reduce((a, b) => a + b, 0))} in all` : ''}.
        </p>
      </fieldset>

      <fieldset>
        <legend>Circuit breaker</legend>
        <div class="grid">
          <${Field} id="circuitBreaker.threshold" label="Open after failures" error=${fieldError('circuitBreaker.threshold')}>
            ${input('circuitBreaker.threshold', form.breaker.threshold, (v) => set({ breaker: { ...form.breaker, threshold: v } }), { type: 'number' })}
          <//>
          <${Field} id="circuitBreaker.cooldown" label="Cooldown (ms)" error=${fieldError('circuitBreaker.cooldown')}>
            ${input('circuitBreaker.cooldown', form.breaker.cooldown, (v) => set({ breaker: { ...form.breaker, cooldown: v } }), { type: 'number' })}
          <//>
        </div>
      </fieldset>

      <fieldset>
        <legend>Throttle</legend>
        <div class="grid">
          <${Field} id="rateLimit.perSecond" label="Deliveries per second" error=${fieldError('rateLimit.perSecond')} hint="Empty: unthrottled. Fractions allowed (0.5 = one every 2 s).">
            ${input('rateLimit.perSecond', form.rate.perSecond, (v) => set({ rate: { ...form.rate, perSecond: v } }), { type: 'number', min: 0.001, step: 'any' })}
          <//>
          <${Field} id="rateLimit.burst" label="Burst" error=${fieldError('rateLimit.burst')} hint="Deliveries that may go at once after a quiet spell (default 1).">
            ${input('rateLimit.burst', form.rate.burst, (v) => set({ rate: { ...form.rate, burst: v } }), { type: 'number', min: 1 })}
          <//>
        </div>
        <p class="hint">A delivery that must wait for its slot waits durably and spends no attempt.</p>
      </fieldset>

      <fieldset>
        <legend>Filters</legend>
        <label class="inline">Match
          <select aria-label="Filter logic" value=${form.logic} onChange=${(e) => set({ logic: e.target.value })}>
            <option value="AND">all (AND)</option><option value="OR">any (OR)</option>
          </select> of these conditions</label>
        ${rows.map(
          (r, i) => html`<div class="row" data-testid="filter-row">
            <input aria-label=${`Condition ${i + 1} field`} placeholder="payload.order.amount" value=${r.field} onInput=${(e) => setRow(i, { field: e.target.value })} />
            <select aria-label=${`Condition ${i + 1} operator`} value=${r.operator} onChange=${(e) => setRow(i, { operator: e.target.value })}>
              ${OPERATORS.map((o) => html`<option value=${o}>${o}</option>`)}
            </select>
            <input aria-label=${`Condition ${i + 1} value`} placeholder="100" value=${r.value} onInput=${(e) => setRow(i, { value: e.target.value })} />
            <button type="button" class="small" onClick=${() => set({ conditions: rows.filter((_, j) => j !== i) })}>Remove</button>
          </div>`,
        )}
        ${form.nested?.length ? html`<p class="hint">${form.nested.length} nested group(s) made through the API are kept as they are.</p>` : null}
        ${fieldError('filters') ? html`<p class="field-error" role="alert">${fieldError('filters')}</p>` : null}
        <button type="button" class="small" onClick=${() => set({ conditions: [...rows, { field: '', operator: 'eq', value: '' }] })}>Add condition</button>
      </fieldset>

      <div class="actions">
        <button type="submit" disabled=${saving}>${id ? 'Save' : 'Create endpoint'}</button>
        ${id ? html`<button type="button" onClick=${rotate}>Rotate secret</button>` : null}
        <a href="#/endpoints">Back to endpoints</a>
      </div>
    </form>
  </section>`;
}
