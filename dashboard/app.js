// Hookline's dashboard: Preact components written with htm (no build step), served by the API
// process at `/`. Hash routes: #/endpoints, #/endpoints/new, #/endpoints/<id>, #/monitor,
// #/events, #/events/<id>, #/dead-letters.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, session } from './api.js';
import { ErrorBox, html } from './ui.js';
import { EndpointForm } from './views/endpoint-form.js';
import { Endpoints } from './views/endpoints.js';
import { DeadLetters } from './views/dead-letters.js';
import { EventDetail, Events } from './views/events.js';
import { Monitor } from './views/monitor.js';

function useHash() {
  const [hash, setHash] = useState(location.hash || '#/endpoints');
  useEffect(() => {
    const on = () => setHash(location.hash || '#/endpoints');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function SignIn({ onSignedIn }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    try {
      await api('GET', '/api/endpoints?limit=1', undefined, key.trim());
      session.signIn(key.trim());
      onSignedIn();
    } catch (err) {
      setError(err.status === 401 ? new Error('This API key is not valid.') : err);
    }
  };
  return html`<main class="signin">
    <h1>Hookline</h1>
    <form onSubmit=${submit}>
      <label for="apikey">API key</label>
      <input id="apikey" type="password" autocomplete="off" required value=${key}
        onInput=${(e) => setKey(e.target.value)} placeholder="hk_…" />
      <p class="hint">Kept for this browser tab only; everything shown belongs to the key's application.</p>
      <button type="submit">Sign in</button>
      <${ErrorBox} error=${error} />
    </form>
  </main>`;
}

const NAV = [
  ['#/endpoints', 'Endpoints'],
  ['#/monitor', 'Monitor'],
  ['#/events', 'Events'],
  ['#/dead-letters', 'Dead letters'],
];

function Page({ hash }) {
  const [, route, id] = hash.split('/');
  if (route === 'endpoints' && id) return html`<${EndpointForm} id=${id === 'new' ? null : id} />`;
  if (route === 'monitor') return html`<${Monitor} />`;
  if (route === 'events' && id) return html`<${EventDetail} id=${decodeURIComponent(id)} />`;
  if (route === 'events') return html`<${Events} />`;
  if (route === 'dead-letters') return html`<${DeadLetters} />`;
  return html`<${Endpoints} />`;
}

function App() {
  const [signedIn, setSignedIn] = useState(Boolean(session.key));
  const hash = useHash();
  if (!signedIn) return html`<${SignIn} onSignedIn=${() => setSignedIn(true)} />`;
  const active = `#/${hash.split('/')[1]}`;
  return html`<header>
      <a class="brand" href="#/endpoints">Hookline</a>
      <nav aria-label="Main">
        ${NAV.map(
          ([href, label]) =>
            html`<a href=${href} aria-current=${active === href ? 'page' : undefined}>${label}</a>`,
        )}
      </nav>
      <button class="link" onClick=${() => (session.signOut(), setSignedIn(false))}>Sign out</button>
    </header>
    <main><${Page} hash=${hash} /></main>`;
}

render(html`<${App} />`, document.getElementById('app'));
