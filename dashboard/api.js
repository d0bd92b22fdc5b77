// The dashboard's only way to the server: the public API with the session's API key.
const KEY = 'hookline.apiKey';

export const session = {
  get key() {
    return sessionStorage.getItem(KEY);
  },
  signIn(key) {
    sessionStorage.setItem(KEY, key);
  },
  signOut() {
    sessionStorage.removeItem(KEY);
  },
};

/** A problem+json answer, with its per-field problems (`errors`: [{field, message}]). */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem ?? {};
  }
  /** The messages for one field ("url", "retryConfig", …) and its sub-fields, if the server named it. */
  field(path) {
    const hit = (this.problem.errors ?? []).filter(
      (e) => e.field === path || e.field?.startsWith(`${path}.`),
    );
    return hit.map((e) => e.message).join('; ') || null;
  }
}

export async function api(method, path, body, key = session.key) {
  const res = await fetch(path, {
    method,
    headers: {
      Authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/** The application's endpoints (first 100), each with `circuit`: its breaker's state. */
export async function endpointsWithCircuits() {
  const list = await api('GET', '/api/endpoints?limit=100');
  const states = await Promise.all(
    list.data.map((e) => api('GET', `/api/endpoints/${e.id}/circuit`).catch(() => ({ state: 'unknown' }))),
  );
  return list.data.map((e, i) => ({ ...e, circuit: states[i].state }));
}

export const qs = (params) => {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '');
  return entries.length ? `?${new URLSearchParams(entries)}` : '';
};

/**
 * Server-Sent Events over fetch (EventSource cannot send the Authorization header). Calls
 * `onEvent(name, data)` per event until `signal` aborts; reconnects after a second on a drop.
 */
export async function stream(path, onEvent, signal) {
  while (!signal.aborted) {
    try {
      const res = await fetch(path, { headers: { Authorization: `Bearer ${session.key}` }, signal });
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let name = 'message';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) name = line.slice(6).trim();
            else if (line.startsWith('data:')) data += line.slice(5).trim();
          }
          if (data) onEvent(name, JSON.parse(data));
        }
      }
    } catch {
      if (signal.aborted) return;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
