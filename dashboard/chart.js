// A small SVG line chart: points [{t, v}] over time, scaled to the data (or to `max`).
import { html } from './ui.js';

/** The smallest of 1, 2 or 5 × 10^n at or above `v` (at least 1), so scales read plainly. */
function niceTop(v) {
  if (!(v > 1)) return 1;
  const power = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * power).find((x) => x >= v);
}

const W = 320;
const H = 100;

export function LineChart({ points, label, max, unit = '' }) {
  if (points.length < 2)
    return html`<svg class="chart" viewBox=${`0 0 ${W} ${H}`} role="img" aria-label=${`${label}: waiting for data`}></svg>`;
  const t0 = points[0].t;
  const span = Math.max(1, points[points.length - 1].t - t0);
  const top = max ?? niceTop(Math.max(...points.map((p) => p.v)));
  const xy = points.map((p) => [((p.t - t0) / span) * W, H - (Math.min(p.v, top) / top) * H]);
  const d = xy.map(([x, y], i) => `${i ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
  const lastValue = points[points.length - 1].v;
  const scale = `0–${top}${unit ? ` ${unit}` : ''}`;
  const seconds = Math.round(span / 1000);
  return html`<figure class="chart-figure">
    <svg class="chart" viewBox=${`0 0 ${W} ${H}`} preserveAspectRatio="none" role="img"
      aria-label=${`${label}: now ${Number(lastValue.toFixed(2))}${unit}, scale ${scale}, last ${seconds} s`}>
      <path d=${`${d} L${W},${H} L0,${H} Z`} class="area" />
      <path d=${d} class="line" data-testid="chart-line" />
    </svg>
    <figcaption aria-hidden="true">scale ${scale} · last ${seconds} s</figcaption>
  </figure>`;
}
