// Dead letters: deliveries whose attempts ran out (or that failed for good, or that an operator
// terminated or cancelled in Temporal), replayed one by one
// or in bulk by endpoint and event type.
import { useEffect, useState } from 'preact/hooks';
import { api, qs } from '../api.js';
import { ErrorBox, fmtTime, html, Notice } from '../ui.js';

export function DeadLetters() {
  const [rows, setRows] = useState(null);
  const [filter, setFilter] = useState({ endpointId: '', eventType: '', replayed: 'false' });
  const [error, setError] = useState(null);
  const [notice, setNotice] = useState(null);
  const load = () =>
    api('GET', `/api/dead-letters${qs({ ...filter, limit: 100 })}`).then((r) => setRows(r.data), setError);
  useEffect(() => void load(), [filter]);

  const replayOne = async (d) => {
    try {
      await api('POST', `/api/dead-letters/${d.id}/replay`);
      setNotice(`Replaying the delivery of ${d.eventId}.`);
      await load();
    } catch (err) {
      setError(err);
    }
  };
  const replayAll = async () => {
    try {
      const { endpointId, eventType } = filter;
      const r = await api('POST', '/api/dead-letters/replay', {
        ...(endpointId ? { endpointId } : {}),
        ...(eventType ? { eventType } : {}),
      });
      setNotice(`Replaying ${r.replayed} dead letter(s).`);
      await load();
    } catch (err) {
      setError(err);
    }
  };
  const set = (k) => (e) => setFilter({ ...filter, [k]: e.target.value });

  return html`<section>
    <div class="title-row">
      <h1>Dead letters</h1>
      <button onClick=${replayAll} disabled=${!rows?.some((d) => !d.replayedAt && !d.resolvedAt)}>Replay all shown</button>
    </div>
    <form class="filters" onSubmit=${(e) => e.preventDefault()}>
      <label>Endpoint <input value=${filter.endpointId} onChange=${set('endpointId')} placeholder="ep_…" /></label>
      <label>Event type <input value=${filter.eventType} onChange=${set('eventType')} /></label>
      <label>Show <select value=${filter.replayed} onChange=${set('replayed')}>
        <option value="false">not replayed</option><option value="true">replayed</option><option value="">all</option>
      </select></label>
    </form>
    <${Notice} text=${notice} />
    <${ErrorBox} error=${error} />
    ${
      rows === null
        ? html`<p>Loading…</p>`
        : rows.length === 0
          ? html`<p>No dead letters.</p>`
          : html`<div class="table-wrap"><table>
            <thead><tr><th scope="col">Event</th><th scope="col">Endpoint</th><th scope="col">Reason</th>
              <th scope="col">Attempts</th><th scope="col">Last status</th><th scope="col">At</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
            <tbody>${rows.map(
              (d) => html`<tr data-dead-letter=${d.id}>
                <td><a href=${`#/events/${d.eventId}`}>${d.eventId}</a></td><td><code>${d.endpointId}</code></td>
                <td>${d.reason}</td><td>${d.attempts}</td><td>${d.lastStatusCode ?? d.lastError ?? '—'}</td>
                <td>${fmtTime(d.createdAt)}</td>
                <td>${
                  d.resolvedAt
                    ? html`resolved: ${d.resolution} (${d.resolvedVia})`
                    : d.replayedAt
                      ? html`replayed (run ${d.replayRun})`
                      : html`<button class="small" onClick=${() => replayOne(d)}>Replay</button>`
                }</td>
              </tr>`,
            )}</tbody>
          </table></div>`
    }
  </section>`;
}
