// Threat hunting over the event store: the filter language of `apiwatch search`, a time
// window, a limit and pages, or the top values of one field. The query lives in the hash
// (`#/search/q=…&since=…`), so a search can be linked and the back button works.
import { useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { html, time, useLoad } from '../format.js';
import { ActorLink, field, ms, route, text } from '../ui.js';

/** What the service returns at most (`limit`), and the page size when none is given. */
const SEARCH_EVENTS_MAX = 10_000;
const PAGE_DEFAULT = 100;

const EXAMPLES = [
  'source.ip=203.0.113.0/24 AND http.response.status_code>=400',
  'url.path="/admin*" AND NOT http.response.status_code=404',
  'user_agent.original~="(?i)sqlmap|nikto"',
];

/** The search the hash names, with defaults. */
function parse(arg) {
  const p = new URLSearchParams(arg || '');
  const limit = Math.min(SEARCH_EVENTS_MAX, Math.max(1, parseInt(p.get('limit'), 10) || PAGE_DEFAULT));
  return {
    q: p.get('q') || '',
    since: p.has('since') ? p.get('since') : '1h',
    until: p.get('until') || '',
    limit,
    page: Math.max(0, parseInt(p.get('page'), 10) || 0),
    count_by: p.get('count_by') || '',
  };
}

function link(s) {
  const p = new URLSearchParams();
  for (const k of ['q', 'since', 'until', 'limit', 'page', 'count_by']) {
    const v = s[k];
    // An empty `since` is kept: it means from the first event, not the default hour.
    if (k === 'since' ? v !== undefined && v !== null : v !== '' && v !== undefined && v !== null && !(k === 'page' && !v)) {
      p.set(k, String(v));
    }
  }
  return route('search', p.toString());
}

async function run(s) {
  // The service has no offset: ask for every page up to this one and keep the last.
  const want = s.count_by ? s.limit : Math.min(SEARCH_EVENTS_MAX, s.limit * (s.page + 1));
  const r = await api(
    'GET',
    `/v1/events/search${query({ q: s.q, since: s.since, until: s.until, limit: want, count_by: s.count_by })}`,
  );
  return { ...r, want };
}

function actorCell(kind, v) {
  return v === undefined || v === null || v === '' ? '' : html`<${ActorLink} id=${`${kind}:${v}`} label=${String(v)} />`;
}

function Events({ events }) {
  return html`
    <table class="events">
      <thead><tr>
        <th>Time</th><th>Address</th><th>Country</th><th>Method</th><th>Path</th><th>Status</th><th>User</th><th>User agent</th><th></th>
      </tr></thead>
      <tbody>
        ${events.map((ev, i) => {
          const path = text(field(ev, 'url.path'));
          const q = text(field(ev, 'url.query'));
          return html`
            <tr key=${i}>
              <td class="nowrap">${time(ms(ev['@timestamp']))}</td>
              <td>${actorCell('ip', field(ev, 'source.ip'))}</td>
              <td>${text(field(ev, 'source.geo.country_iso_code'))}</td>
              <td>${text(field(ev, 'http.request.method'))}</td>
              <td class="mono">${path}${q ? `?${q}` : ''}</td>
              <td>${text(field(ev, 'http.response.status_code'))}</td>
              <td>${actorCell('user', field(ev, 'user.name'))}</td>
              <td class="mono ua">${text(field(ev, 'user_agent.original'))}</td>
              <td><details><summary>JSON</summary><pre class="json">${JSON.stringify(ev, null, 2)}</pre></details></td>
            </tr>`;
        })}
      </tbody>
    </table>`;
}

function Counts({ counts, by }) {
  const max = counts.reduce((m, c) => Math.max(m, c.count), 0) || 1;
  return html`
    <table class="counts wide">
      <thead><tr><th>${by}</th><th class="num">Events</th><th></th></tr></thead>
      <tbody>
        ${counts.map((c, i) => html`
          <tr key=${i}>
            <td class="mono">${text(c.value)}</td><td class="num">${c.count}</td>
            <td class="count-bar"><span class="bar" style=${{ width: `${Math.max(1, (c.count / max) * 100)}%` }}></span></td>
          </tr>`)}
      </tbody>
    </table>`;
}

export function Search({ arg }) {
  const current = parse(arg);
  const [form, setForm] = useState(current);
  const [result, error, reload] = useLoad(() => run(current), [arg]);
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  const submit = (e) => {
    e.preventDefault();
    const next = link({ ...form, page: 0 });
    // The same search again: the hash does not change, so run it by hand.
    if (location.hash === next) reload();
    else location.hash = next;
  };
  const events = result && result.events ? result.events.slice(current.page * current.limit) : [];
  const more = result && result.events && result.events.length >= result.want && result.want < SEARCH_EVENTS_MAX;
  return html`
    <section class="page-search">
      <h2>Search events</h2>
      <form class="search-form" onSubmit=${submit} role="search">
        <label class="grow">Filter
          <input name="q" class="mono" value=${form.q} onInput=${set('q')} spellcheck="false"
            placeholder="source.ip=203.0.113.66 AND http.response.status_code>=400" />
        </label>
        <label>Since<input name="since" size="10" value=${form.since} onInput=${set('since')} placeholder="the first event" /></label>
        <label>Until<input name="until" size="10" value=${form.until} onInput=${set('until')} placeholder="now" /></label>
        <label>Per page<input name="limit" type="number" min="1" max=${SEARCH_EVENTS_MAX} size="5" value=${form.limit} onInput=${set('limit')} /></label>
        <label>Count by<input name="count_by" size="14" value=${form.count_by} onInput=${set('count_by')} placeholder="field (optional)" /></label>
        <button type="submit">Search</button>
      </form>
      <p class="muted small">
        ${'FIELD=VALUE (CIDR on source.ip, * and ? wildcards on text), != > >= < <= ~= (regex), FIELD EXISTS; AND, OR, NOT, parentheses. '}
        ${'Times: RFC 3339, epoch ms or a duration back from now. Examples:'}
        ${EXAMPLES.map((x) => html` <a key=${x} class="mono" href=${link({ ...current, q: x, page: 0, count_by: '' })}>${x}</a>`)}
      </p>
      ${error && html`<div class="error-box" role="alert"><strong>The search was refused:</strong><pre>${error}</pre></div>`}
      ${!result && !error && html`<p class="muted">Searching…</p>`}
      ${result && result.counts && html`
        <p class="muted">${result.counts.length} value${result.counts.length === 1 ? '' : 's'} of ${current.count_by}.</p>
        <${Counts} counts=${result.counts} by=${current.count_by} />`}
      ${result && result.events && html`
        <div class="pager">
          <span class="muted">
            ${events.length === 0 ? 'No events match.' : `Events ${current.page * current.limit + 1}–${current.page * current.limit + events.length}, oldest first`}
            ${result.scan ? ` · ${result.scan.segments_read} of ${result.scan.segments} segments read` : ''}
          </span>
          ${current.page > 0 && html`<a class="button secondary" href=${link({ ...current, page: current.page - 1 })}>← Previous</a>`}
          ${more && html`<a class="button secondary" href=${link({ ...current, page: current.page + 1 })}>Next →</a>`}
        </div>
        ${events.length > 0 && html`<${Events} events=${events} />`}`}
    </section>`;
}
