// The dashboard: one page, routes in the URL's hash (`#/page/argument`), talking to the
// service's own API with the session cookie. Everything shown from events goes through
// Preact's text rendering, never as HTML: events are attacker-controlled.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, useCsrf } from './api.js';
import { html } from './format.js';
import { Feed } from './pages/feed.js';
import { ThreatMap } from './pages/map.js';
import { Overview } from './pages/overview.js';
import { Sources } from './pages/sources.js';
import { Actor } from './pages/actor.js';
import { Decisions } from './pages/decisions.js';
import { Incident } from './pages/incident.js';
import { Rules } from './pages/rules.js';
import { Search } from './pages/search.js';
import './app.css';

/**
 * The pages by the first part of the hash. `label` puts a page in the navigation; pages
 * without one are reached by links and get the rest of the hash as `arg` (decoded).
 */
const PAGES = {
  overview: { label: 'Overview', page: Overview },
  feed: { label: 'Live feed', page: Feed },
  sources: { label: 'Sources', page: Sources },
  map: { label: 'Threat map', page: ThreatMap },
  decisions: { label: 'Decisions', page: Decisions },
  rules: { label: 'Rules', page: Rules },
  search: { label: 'Search', page: Search },
  incident: { page: Incident },
  actor: { page: Actor },
};
const HOME = 'overview';

function parseRoute() {
  const [, name = '', ...rest] = location.hash.split('/');
  if (!PAGES[name]) return { name: HOME, arg: '' };
  let arg = rest.join('/');
  try {
    arg = decodeURIComponent(arg);
  } catch {
    /* a malformed escape is kept as written */
  }
  return { name, arg };
}

function useRoute() {
  const [route, setRoute] = useState(parseRoute());
  useEffect(() => {
    const changed = () => setRoute(parseRoute());
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return route;
}

function SignIn({ onSignedIn }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const submit = async (e) => {
    e.preventDefault();
    setError('');
    try {
      onSignedIn(await api('POST', '/v1/session', { token }));
    } catch (err) {
      setError(err.status === 401 ? 'That token is not valid.' : `Sign-in failed: ${err.message}`);
    }
  };
  return html`
    <main class="sign-in">
      <h1>apiwatch</h1>
      <form onSubmit=${submit}>
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="current-password"
          value=${token} onInput=${(e) => setToken(e.currentTarget.value)} required />
        <button type="submit">Sign in</button>
        ${error && html`<p class="error" role="alert">${error}</p>`}
      </form>
    </main>`;
}

function App() {
  // undefined: still asking; null: signed out.
  const [session, setSession] = useState(undefined);
  const route = useRoute();
  useEffect(() => {
    api('GET', '/v1/session').then(setSession, () => setSession(null));
  }, []);
  useCsrf(session && session.csrf);
  if (session === undefined) return html`<p class="muted">Loading…</p>`;
  if (!session) return html`<${SignIn} onSignedIn=${setSession} />`;
  const signOut = () => api('DELETE', '/v1/session').finally(() => setSession(null));
  const Page = PAGES[route.name].page;
  return html`
    <header>
      <strong>apiwatch</strong>
      <nav>${Object.entries(PAGES)
        .filter(([, p]) => p.label)
        .map(([name, p]) => html`<a href=${`#/${name}`} class=${name === route.name ? 'current' : ''}>${p.label}</a>`)}</nav>
      <span class="who">${session.name} (${session.role})</span>
      <button type="button" onClick=${signOut}>Sign out</button>
    </header>
    <main><${Page} key=${`${route.name}/${route.arg}`} arg=${route.arg} session=${session} /></main>
    <footer><a href="/assets/licenses.txt">Third-party licences</a></footer>`;
}

render(html`<${App} />`, document.getElementById('app'));
