// The live feed: alerts, incidents and decisions from the server-sent event stream, newest
// first, filtered by severity, rule and actor.
import { useEffect, useState } from 'preact/hooks';
import { Severity, actors, html, time } from '../format.js';

/** Items the live feed keeps, newest first. */
const FEED_MAX = 500;

/** What one stream message says, as plain strings, and where a click on it leads. */
function describe(kind, d) {
  switch (kind) {
    case 'alert':
      return {
        severity: d.severity,
        what: d.title || d.rule,
        rule: d.rule,
        actor: actors(d.actor),
        at: Date.parse(d.detected_at),
        link: d.incident_id ? `#/incident/${encodeURIComponent(d.incident_id)}` : '',
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
        link: i.id ? `#/incident/${encodeURIComponent(i.id)}` : '',
      };
    }
    default:
      return {
        severity: d.status || '',
        what: [d.action, d.scope, d.value].filter(Boolean).join(' '),
        rule: (d.origin && d.origin.name) || '',
        actor: d.scope && d.value ? `${d.scope}:${d.value}` : '',
        at: d.created_at_ms,
        link: '#/decisions',
      };
  }
}

export function Feed() {
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
                  <td><${Severity} value=${i.severity} /></td>
                  <td>${i.link ? html`<a href=${i.link}>${i.what}</a>` : i.what}</td><td class="actor">${i.actor}</td>
                </tr>`)}
            </tbody>
          </table>`}
    </section>`;
}
