// A small SVG line chart: points [{t, v}] over time, scaled to the data (or to `max`).
import { html } from './ui.js';

const W = 320;
const H = 100;

export function LineChart({ points, label, max, unit = '' }) {
  if (points.length < 2)
    return html`<svg class="chart" viewBox=${`0 0 ${W} ${H}`} role="img" aria-label=${`${label}: waiting for data`}></svg>`;
  const t0 = points[0].t;
  const span = Math.max(1, points[points.length - 1].t - t0);
  const top = max ?? Math.max(1, ...points.map((p) => p.v)) * 1.1;
  const xy = points.map((p) => [((p.t - t0) / span) * W, H - (Math.min(p.v, top) / top) * H]);
  const d = xy.map(([x, y], i) => `${i ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
  const lastValue = points[points.length - 1].v;
  return html`<svg class="chart" viewBox=${`0 0 ${W} ${H}`} preserveAspectRatio="none" role="img"
    aria-label=${`${label}: now ${Number(lastValue.toFixed(2))}${unit}, top of scale ${Number(top.toFixed(2))}${unit}`}>
    <path d=${`${d} L${W},${H} L0,${H} Z`} class="area" />
    <path d=${d} class="line" data-testid="chart-line" />
  </svg>`;
}
