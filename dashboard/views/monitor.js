// The live monitor: fed every second by /api/metrics/stream; line charts over the last
// five minutes, and every endpoint's circuit state.
import { useEffect, useState } from 'preact/hooks';
import { endpointsWithCircuits, stream } from '../api.js';
import { LineChart } from '../chart.js';
import { Badge, fmtMs, fmtPct, html } from '../ui.js';

const WINDOW = 300; // samples kept: five minutes at one a second

export function Monitor() {
  const [samples, setSamples] = useState([]);
  const [circuits, setCircuits] = useState(null);
  const [connected, setConnected] = useState(false);

  useEffect(() => {
    const abort = new AbortController();
    void stream(
      '/api/metrics/stream',
      (name, data) => {
        if (name !== 'metrics') return;
        setConnected(true);
        setSamples((s) => [...s.slice(-(WINDOW - 1)), { t: Date.parse(data.at), ...data }]);
      },
      abort.signal,
    );
    const loadCircuits = async () =>
      setCircuits((await endpointsWithCircuits()).map((e) => ({ id: e.id, name: e.name, state: e.circuit })));
    void loadCircuits().catch(() => {});
    const timer = setInterval(() => void loadCircuits().catch(() => {}), 5000);
    return () => {
      abort.abort();
      clearInterval(timer);
    };
  }, []);

  const last = samples[samples.length - 1];
  const series = (f) => samples.map((s) => ({ t: s.t, v: f(s) }));
  const queued = (s) => s.queues.pending + s.queues.retrying + s.queues.waitingCircuit + s.queues.throttled;
  return html`<section>
    <h1>Monitor</h1>
    <p class="hint" role="status">${connected ? 'Live: one sample a second over the last minute of traffic.' : 'Connecting…'}</p>
    <div class="cards">
      <div class="card"><h2>Events / s</h2><p class="big" data-testid="eps">${last ? last.eventsPerSecond.toFixed(2) : '—'}</p>
        <${LineChart} label="Events per second" points=${series((s) => s.eventsPerSecond)} /></div>
      <div class="card"><h2>Success rate</h2><p class="big">${last ? fmtPct(last.successRate) : '—'}</p>
        <${LineChart} label="Success rate" points=${series((s) => (s.successRate ?? 1) * 100)} max=${100} unit="%" /></div>
      <div class="card"><h2>Average response</h2><p class="big">${last ? fmtMs(last.averageResponseMs) : '—'}</p>
        <${LineChart} label="Average response time" points=${series((s) => s.averageResponseMs ?? 0)} unit="ms" /></div>
      <div class="card"><h2>Queued deliveries</h2>
        <p class="big">${last ? queued(last) : '—'}</p>
        <p class="hint">${last ? `pending ${last.queues.pending}, retrying ${last.queues.retrying}, waiting for a circuit ${last.queues.waitingCircuit}, throttled ${last.queues.throttled}; Temporal backlog ${last.queues.workflowTasks} workflow / ${last.queues.activityTasks} activity tasks` : ''}</p>
        <${LineChart} label="Queued deliveries" points=${series(queued)} /></div>
      <div class="card"><h2>Waiting for dispatch</h2>
        <p class="big" data-testid="pending-dispatch">${last ? last.queues.pendingDispatch : '—'}</p>
        <p class="hint">${last ? `accepted events whose workflow has not started; oldest ${last.queues.oldestPendingDispatchSeconds} s` : ''}</p>
        <${LineChart} label="Events waiting for dispatch" points=${series((s) => s.queues.pendingDispatch)} /></div>
    </div>
    <h2>Circuit breakers</h2>
    ${
      circuits === null
        ? html`<p>Loading…</p>`
        : circuits.length === 0
          ? html`<p>No endpoints.</p>`
          : html`<ul class="circuits">${circuits.map(
              (c) =>
                html`<li><a href=${`#/endpoints/${c.id}`}>${c.name}</a> <${Badge} value=${c.state} /></li>`,
            )}</ul>`
    }
  </section>`;
}
