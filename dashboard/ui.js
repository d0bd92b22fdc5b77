// Shared pieces of the dashboard: html (htm bound to Preact), formatting, small components.
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);

export const fmtTime = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
export const fmtMs = (ms) => {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(ms < 600_000 ? 1 : 0)} min`;
  if (ms < 86_400_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  return `${(ms / 86_400_000).toFixed(1)} d`;
};
export const fmtPct = (x) => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)} %`);

export const Badge = ({ value }) =>
  html`<span class=${`badge badge-${value}`}>${String(value).replace('_', ' ')}</span>`;

export const TemporalLink = ({ url }) =>
  url ? html`<a href=${url} target="_blank" rel="noopener">Temporal UI ↗</a>` : null;

export const ErrorBox = ({ error }) =>
  error ? html`<p class="error" role="alert">${error.message ?? String(error)}</p>` : null;

export const Notice = ({ text }) => (text ? html`<p class="notice" role="status">${text}</p>` : null);
