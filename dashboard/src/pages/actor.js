// One actor (`#/actor/ip:203.0.113.66`): its risk, decisions, incidents, alerts and linked
// actors, and its recent traffic summarised from the event store: requests per hour, routes,
// countries, statuses, user agents.
import { api, query } from '../api.js';
import { Severity, html, time, useLoad } from '../format.js';
import {
  ACTOR_KINDS,
  ActorLink,
  CountTable,
  EventTable,
  Notice,
  RespondButtons,
  RespondSettings,
  actorQuery,
  cap,
  canChange,
  field,
  ms,
  route,
  splitActor,
  tally,
  useChange,
  useRespondSettings,
} from '../ui.js';
import { DecisionTable } from './decisions.js';

/** The window and the number of events the traffic summary reads. */
const TRAFFIC_SINCE = '24h';
const TRAFFIC_EVENTS_MAX = 500;
const HOUR_MS = 3_600_000;
/** How often the actor is asked again, ms. */
const ACTOR_REFRESH_MS = 30_000;

async function loadActor(id) {
  const { kind, value } = splitActor(id);
  const [view, decisions] = await Promise.all([
    api('GET', `/v1/actors/${encodeURIComponent(id)}`),
    // The actor's view lists active decisions only; proposals and ended ones too, here.
    api('GET', `/v1/decisions${query({ scope: kind, value, limit: 200 })}`).catch(() => null),
  ]);
  let events = null;
  let eventsError = '';
  try {
    const q = actorQuery(id);
    events = q ? (await api('GET', `/v1/events/search${query({ q, since: TRAFFIC_SINCE, limit: TRAFFIC_EVENTS_MAX })}`)).events : [];
  } catch (e) {
    eventsError = e.message;
  }
  const ds = decisions ? decisions.items : view.decisions || [];
  ds.sort((a, b) => b.created_at_ms - a.created_at_ms || b.id - a.id);
  return { view, decisions: ds, events, eventsError };
}

/** Requests per hour over the events read, oldest hour first, empty hours included. */
function perHour(events) {
  const times = events.map((e) => ms(e['@timestamp'])).filter(Number.isFinite);
  if (times.length === 0) return [];
  const first = Math.floor(Math.min(...times) / HOUR_MS) * HOUR_MS;
  const last = Math.floor(Math.max(...times) / HOUR_MS) * HOUR_MS;
  const hours = [];
  for (let h = first; h <= last && hours.length < 48; h += HOUR_MS) hours.push([h, 0, 0]);
  for (const e of events) {
    const t = ms(e['@timestamp']);
    const slot = hours.find(([h]) => t >= h && t < h + HOUR_MS);
    if (!slot) continue;
    slot[1] += 1;
    if (Number(field(e, 'http.response.status_code')) >= 400) slot[2] += 1;
  }
  return hours;
}

function Hours({ hours }) {
  const max = hours.reduce((m, [, n]) => Math.max(m, n), 0) || 1;
  return html`
    <div class="count-table">
      <h3>Requests per hour (UTC)</h3>
      <table class="counts hours">
        <thead><tr><th>Hour</th><th>Requests</th><th>4xx/5xx</th><th></th></tr></thead>
        <tbody>
          ${hours.map(([h, n, bad]) => html`
            <tr key=${h}>
              <td class="nowrap">${time(h).slice(0, 13)}:00</td>
              <td class="count-n">${n}</td>
              <td class="count-n">${bad}</td>
              <td class="count-bar">
                <span class="stack"><span class="bar" style=${{ width: `${((n - bad) / max) * 100}%` }}></span><span class="bar bad" style=${{ width: `${(bad / max) * 100}%` }}></span></span>
              </td>
            </tr>`)}
        </tbody>
      </table>
    </div>`;
}

function Traffic({ id, events, error }) {
  const searchLink = route('search', new URLSearchParams({ q: actorQuery(id), since: TRAFFIC_SINCE }).toString());
  if (error) return html`<p class="error" role="alert">The event store could not be searched: ${error}</p>`;
  if (!events || events.length === 0) {
    return html`<p class="muted">No events from this actor in the last ${TRAFFIC_SINCE}. <a href=${searchLink}>Search</a></p>`;
  }
  const routes = tally(events.map((e) => field(e, 'http.route') ?? field(e, 'url.path')));
  const countries = tally(events.map((e) => field(e, 'source.geo.country_iso_code')));
  const statuses = tally(events.map((e) => field(e, 'http.response.status_code')));
  const agents = tally(events.map((e) => field(e, 'user_agent.original')), 5);
  const others = tally(
    events.flatMap((e) => {
      const out = [];
      const add = (kind, v) => v !== undefined && v !== null && v !== '' && out.push(`${kind}:${v}`);
      add('ip', field(e, 'source.ip'));
      add('user', field(e, 'user.name'));
      add('token', field(e, 'token.id'));
      add('session', field(e, 'session.id'));
      add('consumer', field(e, 'consumer.name'));
      return out.filter((a) => a !== id);
    }),
  );
  const recent = events.slice(-10).reverse();
  return html`
    <p class="muted">
      ${`${events.length} event${events.length === 1 ? '' : 's'} of the last ${TRAFFIC_SINCE}`}
      ${events.length >= TRAFFIC_EVENTS_MAX ? ` (the first ${TRAFFIC_EVENTS_MAX} found)` : ''}
      ${`, ${time(ms(events[0]['@timestamp']))} to ${time(ms(events[events.length - 1]['@timestamp']))}. `}
      <a href=${searchLink}>Search these events</a>
    </p>
    <div class="grid">
      <${Hours} hours=${perHour(events)} />
      <${CountTable} title="Routes" rows=${routes} render=${(v) => html`<span class="mono">${v}</span>`} />
      <${CountTable} title="Status codes" rows=${statuses} />
      <${CountTable} title="Countries" rows=${countries} />
      <${CountTable} title="User agents" rows=${agents} render=${(v) => html`<span class="mono ua">${v}</span>`} />
      <${CountTable} title="Seen in the same events" rows=${others} render=${(v) => html`<${ActorLink} id=${v} />`} />
    </div>
    <h3>Latest requests</h3>
    <${EventTable} events=${recent} omit=${['Address']} />`;
}

export function Actor({ arg, session }) {
  const { kind } = splitActor(arg);
  const valid = ACTOR_KINDS.includes(kind) && arg.length > kind.length + 1;
  const [data, error, reload] = useLoad(() => (valid ? loadActor(arg) : Promise.resolve(null)), [arg], ACTOR_REFRESH_MS);
  const change = useChange(reload);
  const [settings, setSettings] = useRespondSettings(`actor ${arg}`);
  if (!valid) {
    return html`<section><h2>Actor</h2><p class="error" role="alert">${arg ? `"${arg}" is not an actor: ` : ''}an actor is written kind:value, the kind one of ${ACTOR_KINDS.join(', ')}.</p></section>`;
  }
  if (error && !data) return html`<section><h2>Actor</h2><p class="error" role="alert">${error}</p></section>`;
  if (!data) return html`<p class="muted">Loading…</p>`;
  const v = data.view;
  const risk = Math.round(v.risk || 0);
  return html`
    <section class="page-actor">
      <h2><span class="muted">${kind === 'ip' ? 'Address' : cap(kind)}</span> <span class="actor-title">${splitActor(arg).value}</span></h2>
      <div class="facts-row">
        <div class="risk">
          <span class="muted">Risk now</span> <strong>${risk}</strong><span class="muted">/100</span>
          <span class="risk-bar"><span class=${`bar ${risk >= 60 ? 'bad' : ''}`} style=${{ width: `${Math.min(100, Math.max(0, risk))}%` }}></span></span>
        </div>
        <div><span class="muted">Alerts</span> <strong>${v.alerts_total}</strong></div>
        <div><span class="muted">Incidents</span> <strong>${(v.incidents || []).length}</strong></div>
        <div><span class="muted">Active decisions</span> <strong>${(v.decisions || []).length}</strong></div>
      </div>
      ${error && html`<p class="warning">Could not refresh: ${error}</p>`}
      <${Notice} notice=${change.notice} />
      ${canChange(session) && html`
        <div class="respond-panel">
          <${RespondSettings} session=${session} settings=${settings} setSettings=${setSettings} />
          <${RespondButtons} id=${arg} settings=${settings} change=${change} session=${session} />
        </div>`}

      <h3>Linked actors</h3>
      ${(v.linked || []).length === 0
        ? html`<p class="muted">None known to correlation.</p>`
        : html`<p>${v.linked.map((a, i) => html`${i ? ', ' : ''}<${ActorLink} key=${a} id=${a} />`)}</p>`}

      <h3>Traffic</h3>
      <${Traffic} id=${arg} events=${data.events} error=${data.eventsError} />

      <h3>Decisions (${data.decisions.length})</h3>
      <${DecisionTable} items=${data.decisions} session=${session} change=${change} />

      <h3>Incidents (${(v.incidents || []).length})</h3>
      ${(v.incidents || []).length === 0
        ? html`<p class="muted">None.</p>`
        : html`
          <table>
            <thead><tr><th>Opened</th><th>Severity</th><th>Incident</th><th>Status</th><th>Assignee</th><th>Rules</th></tr></thead>
            <tbody>
              ${v.incidents.map(({ incident: i, triage: t }) => html`
                <tr key=${i.id}>
                  <td class="nowrap">${time(i.opened_at_ms)}</td>
                  <td><${Severity} value=${i.severity} /></td>
                  <td><a href=${route('incident', i.id)}>${i.title}</a></td>
                  <td>${t.status}</td><td>${t.assignee || ''}</td>
                  <td class="mono">${(i.rules || []).join(', ')}</td>
                </tr>`)}
            </tbody>
          </table>`}

      <h3>Alerts (${v.alerts_total})</h3>
      ${(v.timeline || []).length === 0
        ? html`<p class="muted">None.</p>`
        : html`
          <table>
            <thead><tr><th>First seen</th><th>Severity</th><th>Rule</th><th>Alert</th><th>Events</th></tr></thead>
            <tbody>
              ${v.timeline.map((a) => html`
                <tr key=${a.id}>
                  <td class="nowrap">${time(ms(a.first_seen))}</td>
                  <td><${Severity} value=${a.severity} /></td>
                  <td class="mono">${a.rule}</td>
                  <td><strong>${a.title}</strong><br /><span class="muted">${a.summary}</span></td>
                  <td>${a.count}</td>
                </tr>`)}
            </tbody>
          </table>`}
    </section>`;
}
