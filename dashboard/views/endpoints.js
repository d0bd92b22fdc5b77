// Endpoints: each with its state (enabled, circuit, success rate); disable and delete here.
import { useEffect, useState } from 'preact/hooks';
import { api, endpointsWithCircuits } from '../api.js';
import { Badge, ErrorBox, fmtPct, fmtTime, html, Notice } from '../ui.js';

export function Endpoints() {
  const [rows, setRows] = useState(null);
  const [error, setError] = useState(null);
  const [notice, setNotice] = useState(null);

  const load = async () => {
    try {
      const [endpoints, stats] = await Promise.all([endpointsWithCircuits(), api('GET', '/api/stats')]);
      const byId = Object.fromEntries(stats.endpoints.map((s) => [s.endpointId, s]));
      setRows(endpoints.map((e) => ({ ...e, stats: byId[e.id] })));
    } catch (err) {
      setError(err);
    }
  };
  useEffect(() => void load(), []);

  const toggle = async (e) => {
    await api('PATCH', `/api/endpoints/${e.id}`, { enabled: !e.enabled }).catch(setError);
    setNotice(`${e.name} ${e.enabled ? 'disabled' : 'enabled'}.`);
    await load();
  };
  const remove = async (e) => {
    if (!confirm(`Delete the endpoint “${e.name}”? Its in-flight deliveries end as dead letters.`)) return;
    await api('DELETE', `/api/endpoints/${e.id}`).catch(setError);
    setNotice(`${e.name} deleted.`);
    await load();
  };

  return html`<section>
    <div class="title-row">
      <h1>Endpoints</h1>
      <a class="button" href="#/endpoints/new">New endpoint</a>
    </div>
    <${Notice} text=${notice} />
    <${ErrorBox} error=${error} />
    ${
      rows === null
        ? html`<p>Loading…</p>`
        : rows.length === 0
          ? html`<p>No endpoints yet. <a href="#/endpoints/new">Create the first one.</a></p>`
          : html`<div class="table-wrap"><table>
            <thead><tr>
              <th scope="col">Name</th><th scope="col">URL</th><th scope="col">Events</th>
              <th scope="col">State</th><th scope="col">Circuit</th><th scope="col">Success</th>
              <th scope="col">Last activity</th><th scope="col"><span class="sr-only">Actions</span></th>
            </tr></thead>
            <tbody>
              ${rows.map(
                (e) => html`<tr data-endpoint=${e.id}>
                  <td><a href=${`#/endpoints/${e.id}`}>${e.name}</a></td>
                  <td class="url">${e.url}</td>
                  <td>${e.events.join(', ')}</td>
                  <td><${Badge} value=${e.enabled ? 'enabled' : 'disabled'} /></td>
                  <td><${Badge} value=${e.circuit} /></td>
                  <td>${e.stats?.total ? fmtPct(e.stats.successes / e.stats.total) : '—'}</td>
                  <td>${fmtTime(e.stats?.lastActivityAt)}</td>
                  <td class="actions">
                    <button class="small" onClick=${() => toggle(e)}>${e.enabled ? 'Disable' : 'Enable'}</button>
                    <button class="small danger" onClick=${() => remove(e)}>Delete</button>
                  </td>
                </tr>`,
              )}
            </tbody>
          </table></div>`
    }
  </section>`;
}
