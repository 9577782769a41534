// The dashboard: one page, routes in the URL's hash, talking to the service's own API with the
// session cookie. Everything shown from events goes through Preact's text rendering, never
// as HTML: events are attacker-controlled.
import { h, render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import htm from 'htm';
import './app.css';

const html = htm.bind(h);

/** Items the live feed keeps, newest first. */
const FEED_MAX = 500;
/** How often the sources' health is asked again, ms. */
const SOURCES_REFRESH_MS = 5000;

async function api(method, path, body, csrf) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (csrf && method !== 'GET') headers['X-CSRF-Token'] = csrf;
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { error: text };
  }
  if (!response.ok) {
    const error = new Error((data && data.error) || response.statusText);
    error.status = response.status;
    throw error;
  }
  return data;
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

function time(ms) {
  return Number.isFinite(ms) ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '';
}

function actors(list) {
  if (Array.isArray(list)) {
    return list.map((a) => (Array.isArray(a) ? `${a[0]}:${a[1]}` : String(a))).join(', ');
  }
  if (list && typeof list === 'object') {
    return Object.entries(list).map(([k, v]) => `${k}:${v}`).join(', ');
  }
  return '';
}

/** What one stream message says, as plain strings. */
function describe(kind, d) {
  switch (kind) {
    case 'alert':
      return {
        severity: d.severity,
        what: d.title || d.rule,
        rule: d.rule,
        actor: actors(d.actor),
        at: Date.parse(d.detected_at),
      };
    case 'incident': {
      const i = d.incident || d;
      const status = d.triage && d.triage.status ? ` (${d.triage.status})` : '';
      return {
        severity: i.severity,
        what: `${i.title || i.id}${status}`,
        rule: (i.rules || []).join(', '),
        actor: actors(i.actors),
        at: i.updated_at_ms,
      };
    }
    default:
      return {
        severity: d.status || '',
        what: [d.action, d.scope, d.value].filter(Boolean).join(' '),
        rule: (d.origin && d.origin.name) || '',
        actor: d.scope && d.value ? `${d.scope}:${d.value}` : '',
        at: d.created_at_ms,
      };
  }
}

function Feed() {
  const [items, setItems] = useState([]);
  const [state, setState] = useState('connecting');
  const [missed, setMissed] = useState(0);
  const [filter, setFilter] = useState({ severity: '', rule: '', actor: '' });
  useEffect(() => {
    const source = new EventSource('/v1/stream');
    let n = 0;
    const add = (kind) => (e) => {
      let data;
      try {
        data = JSON.parse(e.data);
      } catch {
        return;
      }
      n += 1;
      setItems((xs) => [{ kind, key: n, ...describe(kind, data) }, ...xs].slice(0, FEED_MAX));
    };
    for (const kind of ['alert', 'incident', 'decision']) source.addEventListener(kind, add(kind));
    source.addEventListener('lagged', (e) => {
      try {
        setMissed((m) => m + (JSON.parse(e.data).missed || 0));
      } catch {
        /* a malformed notice changes nothing shown */
      }
    });
    source.onopen = () => setState('live');
    source.onerror = () => setState('reconnecting');
    return () => source.close();
  }, []);
  const has = (text, part) => !part || String(text || '').toLowerCase().includes(part.toLowerCase());
  const shown = items.filter(
    (i) => has(i.severity, filter.severity) && has(i.rule, filter.rule) && has(i.actor, filter.actor),
  );
  const field = (name, label) => html`
    <label>${label}
      <input name=${name} value=${filter[name]}
        onInput=${(e) => setFilter({ ...filter, [name]: e.currentTarget.value })} />
    </label>`;
  return html`
    <section>
      <h2>Live feed <span class=${`state ${state}`}>${state}</span></h2>
      <div class="filters">${field('severity', 'Severity')}${field('rule', 'Rule')}${field('actor', 'Actor')}</div>
      ${missed > 0 && html`<p class="warning">${missed} messages were missed (the feed fell behind).</p>`}
      ${shown.length === 0
        ? html`<p class="muted">Nothing yet: alerts, incidents and decisions appear here as they happen.</p>`
        : html`
          <table class="feed">
            <thead><tr><th>Time</th><th>Kind</th><th>Severity</th><th>What</th><th>Actor</th></tr></thead>
            <tbody>
              ${shown.map((i) => html`
                <tr key=${i.key} class=${`kind-${i.kind}`}>
                  <td>${time(i.at)}</td><td>${i.kind}</td>
                  <td><span class=${`sev sev-${String(i.severity || '').replace(/[^a-z]/g, '')}`}>${i.severity}</span></td>
                  <td>${i.what}</td><td class="actor">${i.actor}</td>
                </tr>`)}
            </tbody>
          </table>`}
    </section>`;
}

function Sources() {
  const [report, setReport] = useState(null);
  const [error, setError] = useState('');
  useEffect(() => {
    let stopped = false;
    const load = () =>
      api('GET', '/v1/sources').then(
        (r) => !stopped && (setReport(r), setError('')),
        (e) => !stopped && setError(e.message),
      );
    load();
    const timer = setInterval(load, SOURCES_REFRESH_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, []);
  if (error) return html`<p class="error">${error}</p>`;
  if (!report) return html`<p class="muted">Loading…</p>`;
  const seconds = (ms) => (ms == null ? '' : `${(ms / 1000).toFixed(1)} s`);
  return html`
    <section>
      <h2>Sources</h2>
      <table>
        <thead><tr><th>Source</th><th>Kind</th><th>Events/s</th><th>Events</th><th>Lag</th><th>Last delivered</th><th>State</th></tr></thead>
        <tbody>
          ${report.items.map((s) => html`
            <tr key=${s.name}>
              <td>${s.name}</td><td>${s.kind}</td><td>${s.events_per_second.toFixed(1)}</td>
              <td>${s.events_total}</td><td>${seconds(s.lag_ms)}</td><td>${time(s.last_delivered_ms)}</td>
              <td>${s.silent ? html`<span class="sev sev-high">silent</span>` : 'delivering'}</td>
            </tr>`)}
        </tbody>
      </table>
      <p class="muted">A source is silent after ${Math.round(report.silent_after_ms / 60000)} minutes without an event.</p>
    </section>`;
}

const PAGES = { '#/feed': ['Live feed', Feed], '#/sources': ['Sources', Sources] };

function useRoute() {
  const current = () => (PAGES[location.hash] ? location.hash : '#/feed');
  const [route, setRoute] = useState(current());
  useEffect(() => {
    const changed = () => setRoute(current());
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return route;
}

function App() {
  // undefined: still asking; null: signed out.
  const [session, setSession] = useState(undefined);
  const route = useRoute();
  useEffect(() => {
    api('GET', '/v1/session').then(setSession, () => setSession(null));
  }, []);
  if (session === undefined) return html`<p class="muted">Loading…</p>`;
  if (!session) return html`<${SignIn} onSignedIn=${setSession} />`;
  const signOut = () => api('DELETE', '/v1/session', undefined, session.csrf).finally(() => setSession(null));
  const Page = PAGES[route][1];
  return html`
    <header>
      <strong>apiwatch</strong>
      <nav>${Object.entries(PAGES).map(([hash, [label]]) => html`
        <a href=${hash} class=${hash === route ? 'current' : ''}>${label}</a>`)}</nav>
      <span class="who">${session.name} (${session.role})</span>
      <button type="button" onClick=${signOut}>Sign out</button>
    </header>
    <main><${Page} /></main>`;
}

render(html`<${App} />`, document.getElementById('app'));
