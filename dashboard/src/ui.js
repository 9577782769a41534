// Pieces shared by the incident, actor, decisions, rules and search pages: links to our own
// routes, ECS event fields, durations, and changes that report the server's answer. Values
// from events are attacker-controlled: they only ever become text or an encoded part of a
// `#/...` route, never markup or another URL.
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { html, time } from './format.js';

/** A link to one of our own pages; `arg` (any text) is encoded into the hash. */
export function route(page, arg) {
  return arg === undefined || arg === '' ? `#/${page}` : `#/${page}/${encodeURIComponent(String(arg))}`;
}

/** Actor kinds the API names actors by (`kind:value`). */
export const ACTOR_KINDS = ['ip', 'user', 'token', 'session', 'consumer'];

/** Splits `kind:value` (the value may itself hold colons, as an IPv6 address does). */
export function splitActor(id) {
  const s = String(id || '');
  const at = s.indexOf(':');
  return at < 0 ? { kind: '', value: s } : { kind: s.slice(0, at), value: s.slice(at + 1) };
}

/** A link to an actor's page, its text the actor as written. */
export function ActorLink({ id, label }) {
  const text = label === undefined ? String(id) : label;
  const { kind } = splitActor(id);
  if (!ACTOR_KINDS.includes(kind)) return html`<span class="actor">${text}</span>`;
  return html`<a class="actor" href=${route('actor', id)}>${text}</a>`;
}

/** The value at a dotted ECS path of a nested event (`http.response.status_code`). */
export function field(ev, path) {
  let v = ev;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = v[part];
  }
  return v;
}

/** ECS fields that name an actor, and the actor kind each gives. */
export const ACTOR_FIELDS = [
  ['source.ip', 'ip'],
  ['user.name', 'user'],
  ['user.id', 'user'],
  ['token.id', 'token'],
  ['api_key.id', 'token'],
  ['session.id', 'session'],
  ['consumer.name', 'consumer'],
];

/** The actors (`kind:value`) one event names. */
export function eventActors(ev) {
  const out = [];
  for (const [path, kind] of ACTOR_FIELDS) {
    const v = field(ev, path);
    if (v !== undefined && v !== null && v !== '') {
      const id = `${kind}:${v}`;
      if (!out.includes(id)) out.push(id);
    }
  }
  return out;
}

/** Text for a cell: '' for absent values, everything else as a string. */
export function text(v) {
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** An event's request as `GET /path?query`. */
export function request(ev) {
  const path = text(field(ev, 'url.path'));
  const q = text(field(ev, 'url.query'));
  return `${text(field(ev, 'http.request.method'))} ${path}${q ? `?${q}` : ''}`.trim();
}

/** The time of an ECS event or an alert's RFC 3339 field, as epoch ms (NaN when absent). */
export function ms(rfc3339) {
  return typeof rfc3339 === 'string' ? Date.parse(rfc3339) : NaN;
}

/** Milliseconds as the API writes durations: `90s`, `15m`, `6h`, `2d`. */
export function duration(msValue) {
  if (!Number.isFinite(msValue)) return '';
  const units = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  for (const [u, n] of units) if (msValue >= n && msValue % n === 0) return `${msValue / n}${u}`;
  if (msValue >= 3_600_000) return `${(msValue / 3_600_000).toFixed(1)}h`;
  if (msValue >= 60_000) return `${Math.round(msValue / 60_000)}m`;
  return `${Math.max(0, Math.round(msValue / 1000))}s`;
}

/** How long from now until `atMs`, as `in 5h` or `3m ago`. */
export function relative(atMs, now = Date.now()) {
  if (!Number.isFinite(atMs)) return '';
  const d = atMs - now;
  const span = (x) => {
    const minutes = Math.round(Math.abs(x) / 60_000);
    if (minutes >= 48 * 60) return `${Math.round(minutes / 1440)}d`;
    if (minutes >= 60) return `${Math.round(minutes / 60)}h`;
    if (minutes >= 1) return `${minutes}m`;
    return `${Math.round(Math.abs(x) / 1000)}s`;
  };
  return d >= 0 ? `in ${span(d)}` : `${span(d)} ago`;
}

/** Whether the signed-in role may change things (viewers may not). */
export function canChange(session) {
  return !!session && (session.role === 'admin' || session.role === 'analyst');
}

/**
 * A change with its outcome: `run(fn, done)` calls `fn()`, then shows `done` (or what it
 * returns) and calls `after`; a refusal shows the server's own error text.
 * Returns { busy, notice, run }; `Notice` renders the outcome.
 */
export function useChange(after) {
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState(null);
  const run = async (fn, done) => {
    setBusy(true);
    setNotice(null);
    try {
      const result = await fn();
      setNotice({ ok: true, text: typeof done === 'function' ? done(result) : done || 'Done.' });
      if (after) after(result);
      return result;
    } catch (e) {
      setNotice({ ok: false, text: e.status ? `Refused (${e.status}): ${e.message}` : `Failed: ${e.message}` });
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { busy, notice, run };
}

/** The outcome of the last change, announced to screen readers. */
export function Notice({ notice }) {
  if (!notice) return null;
  return notice.ok
    ? html`<p class="notice ok" role="status">${notice.text}</p>`
    : html`<p class="notice error" role="alert">${notice.text}</p>`;
}

/**
 * Adds a decision: an administrator's is active at once unless `mode` is `propose`; an
 * analyst's is proposed. `incident`: the incident it answers, listed with it.
 */
export function addDecision({ action, scope, value, duration: d, reason, incident, mode }) {
  const body = { action, scope, value, duration: d, reason };
  if (incident) body.incident_id = incident;
  if (mode) body.mode = mode;
  return api('POST', '/v1/decisions', body);
}

/** What a decision made by this role becomes. */
export function decisionEffect(session) {
  return session && session.role === 'admin'
    ? 'As an administrator, your decisions are enforced at once.'
    : 'As an analyst, your decisions are proposed and wait for an administrator.';
}

/** Counts of values, the most frequent first: [[value, count], …]. */
export function tally(values, top = 10) {
  const m = new Map();
  for (const v of values) {
    if (v === undefined || v === null || v === '') continue;
    const k = String(v);
    m.set(k, (m.get(k) || 0) + 1);
  }
  return [...m.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, top);
}

/** A table of counted values with a bar each (widths set through the style object). */
export function CountTable({ title, rows, render }) {
  const max = rows.reduce((m, [, n]) => Math.max(m, n), 0) || 1;
  return html`
    <div class="count-table">
      <h3>${title}</h3>
      ${rows.length === 0
        ? html`<p class="muted">None.</p>`
        : html`
          <table class="counts">
            <tbody>
              ${rows.map(([v, n]) => html`
                <tr key=${v}>
                  <td class="count-value">${render ? render(v) : v}</td>
                  <td class="count-n">${n}</td>
                  <td class="count-bar"><span class="bar" style=${{ width: `${Math.max(2, (n / max) * 100)}%` }}></span></td>
                </tr>`)}
            </tbody>
          </table>`}
    </div>`;
}

/** The filter that finds an actor's events (quoted: values are free text). */
export function actorQuery(id) {
  const { kind, value } = splitActor(id);
  const q = `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  switch (kind) {
    case 'ip':
      return /^[0-9A-Fa-f:./]+$/.test(value) ? `source.ip=${value}` : `source.ip=${q}`;
    case 'user':
      return `(user.name=${q} OR user.id=${q})`;
    case 'token':
      return `(token.id=${q} OR api_key.id=${q})`;
    case 'session':
      return `session.id=${q}`;
    case 'consumer':
      return `consumer.name=${q}`;
    default:
      return '';
  }
}

/** Decision actions that make sense for an actor kind (the first is the usual one). */
export function actionsFor(kind) {
  switch (kind) {
    case 'ip':
      return ['block', 'throttle'];
    case 'user':
      return ['lock', 'step_up', 'block', 'throttle'];
    case 'token':
      return ['revoke', 'block', 'throttle'];
    case 'session':
      return ['revoke', 'block', 'step_up'];
    case 'consumer':
      return ['throttle', 'block'];
    default:
      return ['block'];
  }
}

/** Turns `step_up` into `Step up`. */
export function cap(s) {
  const t = String(s || '').replace(/_/g, ' ');
  return t.charAt(0).toUpperCase() + t.slice(1);
}

/** Duration, reason, mode and incident for the decisions a page's buttons make. */
export function useRespondSettings(reason, incident) {
  const [settings, setSettings] = useState({ duration: '24h', reason, mode: '', incident });
  return [settings, setSettings];
}

export function RespondSettings({ session, settings, setSettings }) {
  const set = (k) => (e) => setSettings({ ...settings, [k]: e.currentTarget.value });
  return html`
    <div class="respond-settings">
      <label>Duration<input name="decision-duration" value=${settings.duration} onInput=${set('duration')} size="6" /></label>
      <label class="grow">Reason<input name="decision-reason" value=${settings.reason} onInput=${set('reason')} /></label>
      ${session && session.role === 'admin' && html`
        <label>Mode
          <select name="decision-mode" value=${settings.mode} onChange=${set('mode')}>
            <option value="">Enforce now</option>
            <option value="propose">Propose for approval</option>
          </select>
        </label>`}
      <p class="muted">${settings.mode === 'propose' ? 'Proposed: it waits for an administrator\'s approval.' : decisionEffect(session)}</p>
    </div>`;
}

/** One button per action that fits the actor's kind, named `Block 203.0.113.66` and so on. */
export function RespondButtons({ id, settings, change, session }) {
  if (!canChange(session)) return null;
  const { kind, value } = splitActor(id);
  if (!ACTOR_KINDS.includes(kind)) return null;
  return html`
    <span class="respond-buttons">
      ${actionsFor(kind).map((action, i) => html`
        <button type="button" key=${action} class=${i === 0 ? 'danger' : 'secondary'} disabled=${change.busy}
          aria-label=${`${cap(action)} ${value}`}
          onClick=${() => change.run(
            () => addDecision({ action, scope: kind, value, ...settings }),
            (d) => `Decision ${d.id}: ${d.action} ${d.scope} ${d.value} for ${duration(d.duration_ms)}, ${d.status}.`,
          )}>${cap(action)}</button>`)}
    </span>`;
}

/** The columns an event table may show: header, value, cell class. */
const EVENT_COLUMNS = [
  ['Time', (ev) => time(ms(ev['@timestamp'])), 'nowrap', true],
  ['Address', (ev) => text(field(ev, 'source.ip')), 'nowrap'],
  ['Request', (ev) => request(ev), 'mono', true],
  ['Status', (ev) => text(field(ev, 'http.response.status_code'))],
  ['User', (ev) => text(field(ev, 'user.name') ?? field(ev, 'user.id'))],
  ['Token', (ev) => text(field(ev, 'token.id') ?? field(ev, 'api_key.id')), 'mono'],
  ['Country', (ev) => text(field(ev, 'source.geo.country_iso_code'))],
  ['User agent', (ev) => text(field(ev, 'user_agent.original')), 'mono ua'],
];

/** Events as a table, leaving out the columns none of them has (`omit`: headers to leave out). */
export function EventTable({ events, omit = [] }) {
  const cols = EVENT_COLUMNS.filter(
    ([name, get, , always]) => !omit.includes(name) && (always || events.some((ev) => get(ev) !== '')),
  );
  return html`
    <table class="evidence">
      <thead><tr>${cols.map(([name]) => html`<th key=${name}>${name}</th>`)}</tr></thead>
      <tbody>
        ${events.map((ev, i) => html`
          <tr key=${i}>${cols.map(([name, get, cls]) => html`<td key=${name} class=${cls || ''}>${get(ev)}</td>`)}</tr>`)}
      </tbody>
    </table>`;
}
