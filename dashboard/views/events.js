// The explorer: events filtered by type, status, tag and time, a page at a time; an event's
// deliveries and each delivery's attempts; replay; links to the workflows in Temporal's UI.
import { useEffect, useState } from 'preact/hooks';
import { api, qs } from '../api.js';
import { EVENT_STATUSES } from '../vocabulary.js';
import { Badge, ErrorBox, fmtMs, fmtTime, html, Notice, TemporalLink } from '../ui.js';

const STATUSES = ['', ...EVENT_STATUSES];

export function Events() {
  const [filter, setFilter] = useState({ type: '', status: '', tag: '', from: '', to: '' });
  // What the list shows: the filter as of the last Search (typing alone changes nothing).
  const [applied, setApplied] = useState(filter);
  const [pages, setPages] = useState([null]); // cursors of the pages seen, for Back
  const [page, setPage] = useState(null);
  const [error, setError] = useState(null);

  const load = async (cursor, f = applied) => {
    setError(null);
    try {
      const iso = (v) => (v ? new Date(v).toISOString() : undefined);
      setPage(
        await api('GET', `/api/events${qs({ ...f, from: iso(f.from), to: iso(f.to), cursor, limit: 20 })}`),
      );
    } catch (err) {
      setError(err);
    }
  };
  useEffect(() => void load(null), []);
  // New events show up by themselves on the first page.
  useEffect(() => {
    if (pages.length > 1) return undefined;
    const timer = setInterval(() => void load(null), 3000);
    return () => clearInterval(timer);
  }, [pages, applied]);

  const search = (e) => {
    e.preventDefault();
    setApplied(filter);
    setPages([null]);
    void load(null, filter);
  };
  const set = (k) => (e) => setFilter({ ...filter, [k]: e.target.value });

  return html`<section>
    <h1>Events</h1>
    <form class="filters" onSubmit=${search} role="search">
      <label>Type <input name="type" value=${filter.type} onInput=${set('type')} placeholder="order.created" /></label>
      <label>Status <select name="status" value=${filter.status} onChange=${set('status')}>
        ${STATUSES.map((s) => html`<option value=${s}>${s || 'any'}</option>`)}
      </select></label>
      <label>Tag <input name="tag" value=${filter.tag} onInput=${set('tag')} /></label>
      <label>From <input type="datetime-local" value=${filter.from} onInput=${set('from')} /></label>
      <label>To <input type="datetime-local" value=${filter.to} onInput=${set('to')} /></label>
      <button type="submit">Search</button>
    </form>
    <${ErrorBox} error=${error} />
    ${
      page === null
        ? html`<p>Loading…</p>`
        : page.data.length === 0
          ? html`<p>No events match.</p>`
          : html`<div class="table-wrap"><table>
            <thead><tr><th scope="col">Event</th><th scope="col">Type</th><th scope="col">Status</th>
              <th scope="col">Matched</th><th scope="col">Tags</th><th scope="col">Received</th></tr></thead>
            <tbody>${page.data.map(
              (e) => html`<tr data-event=${e.id}>
                <td><a href=${`#/events/${e.id}`}>${e.id}</a></td><td>${e.type}</td>
                <td><${Badge} value=${e.status} /></td><td>${e.matched ?? '—'}</td>
                <td>${e.tags.join(', ')}</td><td>${fmtTime(e.createdAt)}</td>
              </tr>`,
            )}</tbody>
          </table></div>`
    }
    <div class="pager">
      <button disabled=${pages.length <= 1} onClick=${() => {
        const prev = pages.slice(0, -1);
        setPages(prev);
        void load(prev[prev.length - 1]);
      }}>Newer</button>
      <button disabled=${!page?.nextCursor} onClick=${() => {
        setPages([...pages, page.nextCursor]);
        void load(page.nextCursor);
      }}>Older</button>
    </div>
  </section>`;
}

function Attempts({ deliveryId }) {
  const [attempts, setAttempts] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    api('GET', `/api/deliveries/${encodeURIComponent(deliveryId)}/attempts`).then(
      (r) => setAttempts(r.data),
      setError,
    );
  }, [deliveryId]);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!attempts) return html`<p>Loading attempts…</p>`;
  if (!attempts.length) return html`<p>No attempt yet.</p>`;
  return html`<div class="table-wrap"><table class="attempts">
    <thead><tr><th scope="col">Run</th><th scope="col">Attempt</th><th scope="col">At</th><th scope="col">Outcome</th>
      <th scope="col">Status</th><th scope="col">Duration</th><th scope="col">Error</th><th scope="col">Response</th></tr></thead>
    <tbody>${attempts.map(
      (a) => html`<tr>
        <td>${a.run}</td><td>${a.attempt}</td><td>${fmtTime(a.startedAt)}</td><td><${Badge} value=${a.outcome} /></td>
        <td>${a.statusCode ?? '—'}</td><td>${fmtMs(a.durationMs)}</td>
        <td>${a.errorClass ? `${a.errorClass}: ${a.errorMessage ?? ''}` : '—'}</td>
        <td><code class="excerpt">${a.responseBody ?? ''}</code></td>
      </tr>`,
    )}</tbody>
  </table></div>`;
}

/** The event's deliveries by state, live from the counters PostgreSQL keeps. */
function progressLine(event) {
  const p = event.progress;
  const parts = [
    [p.delivered, 'delivered'],
    [p.failed, 'failed'],
    [p.active, 'retrying or waiting'],
    [p.pending, 'pending'],
    [p.terminated, 'terminated'],
    [p.cancelled, 'cancelled'],
  ].filter(([n]) => n > 0);
  const of = event.matched ?? 0;
  return of === 0 ? '—' : `${parts.map(([n, what]) => `${n} ${what}`).join(' · ')} (of ${of} matched)`;
}

export function EventDetail({ id }) {
  const [event, setEvent] = useState(null);
  const [open, setOpen] = useState(null);
  const [error, setError] = useState(null);
  const [notice, setNotice] = useState(null);
  // Deliveries past the first page (a wide event has thousands), loaded on demand.
  const [more, setMore] = useState({ rows: [], cursor: undefined });
  const load = () => api('GET', `/api/events/${encodeURIComponent(id)}`).then(setEvent, setError);
  const loadMore = async (cursor) => {
    try {
      const page = await api(
        'GET',
        `/api/events/${encodeURIComponent(id)}/deliveries?limit=100&cursor=${encodeURIComponent(cursor)}`,
      );
      setMore((m) => ({ rows: [...m.rows, ...page.data], cursor: page.nextCursor }));
    } catch (err) {
      setError(err);
    }
  };
  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), 3000);
    return () => clearInterval(timer);
  }, [id]);

  const replay = async () => {
    try {
      await api('POST', `/api/events/${encodeURIComponent(id)}/replay`);
      setNotice('Replay started: each delivery runs again with fresh attempts.');
      await load();
    } catch (err) {
      setError(err);
    }
  };

  if (!event) return html`<${ErrorBox} error=${error} />${error ? null : html`<p>Loading…</p>`}`;
  return html`<section>
    <div class="title-row">
      <h1>Event <code>${event.id}</code></h1>
      <button onClick=${replay}>Replay event</button>
    </div>
    <${Notice} text=${notice} />
    <${ErrorBox} error=${error} />
    <dl class="facts">
      <dt>Type</dt><dd>${event.type}</dd>
      <dt>Status</dt><dd><${Badge} value=${event.status} /></dd>
      <dt>Progress</dt><dd data-progress>${progressLine(event)}</dd>
      <dt>Received</dt><dd>${fmtTime(event.createdAt)}</dd>
      <dt>Source</dt><dd>${event.source ?? '—'}</dd>
      <dt>Tags</dt><dd>${event.tags.join(', ') || '—'}</dd>
      <dt>Workflow</dt><dd><code>${event.workflowId}</code> <${TemporalLink} url=${event.temporalUiUrl} /></dd>
    </dl>
    <details><summary>Payload</summary><pre>${JSON.stringify(event.payload, null, 2)}</pre></details>
    <h2>Deliveries</h2>
    ${
      event.deliveries.length === 0
        ? html`<p>No delivery (yet).</p>`
        : html`<ul class="deliveries">${[...event.deliveries, ...more.rows].map(
            (d) => html`<li data-delivery=${d.id}>
            <div class="delivery-head">
              <${Badge} value=${d.status} />
              <span>endpoint <code>${d.endpointId}</code></span>
              <span>${d.attempts} attempt(s)${d.lastStatusCode ? `, last ${d.lastStatusCode}` : ''}</span>
              <${TemporalLink} url=${d.temporalUiUrl} />
              <button class="small" aria-expanded=${open === d.id} onClick=${() => setOpen(open === d.id ? null : d.id)}>
                ${open === d.id ? 'Hide attempts' : 'Show attempts'}
              </button>
            </div>
            ${open === d.id ? html`<${Attempts} deliveryId=${d.id} />` : null}
          </li>`,
          )}</ul>`
    }
    ${
      (more.cursor === undefined ? event.deliveriesNextCursor : more.cursor)
        ? html`<button onClick=${() => loadMore(more.cursor ?? event.deliveriesNextCursor)}>More deliveries</button>`
        : null
    }
    <p><a href="#/events">Back to events</a></p>
  </section>`;
}
