// The overview: traffic, logins, errors and response times over a chosen period; open
// incidents by severity; active decisions; the security KPIs; each source's health.
import { useMemo, useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { COLORS, Chart } from '../chart.js';
import { Severity, html, time, useLoad } from '../format.js';
import { SourcesTable } from './sources.js';

/** How often the overview asks again, ms. */
const OVERVIEW_REFRESH_MS = 10_000;

/** The periods offered, as the API's durations back from now. */
export const PERIODS = [
  ['1h', 'Last hour'],
  ['6h', 'Last 6 hours'],
  ['24h', 'Last 24 hours'],
];
const PERIOD_SHORT = { '1h': 'last hour', '6h': 'last 6 h', '24h': 'last 24 h' };

/** The period from a route argument, or the first. */
export const periodOf = (arg) => (PERIODS.some(([p]) => p === arg) ? arg : PERIODS[0][0]);

/** Buttons choosing the period; the choice is kept in the address (`#/page/6h`). */
export function PeriodPicker({ page, value, onChange }) {
  const choose = (p) => {
    history.replaceState(null, '', `#/${page}/${p}`);
    onChange(p);
  };
  return html`
    <div class="segmented" role="group" aria-label="Period">
      ${PERIODS.map(([p, label]) => html`
        <button type="button" key=${p} title=${label} aria-pressed=${p === value ? 'true' : 'false'}
          class=${p === value ? 'on' : ''} onClick=${() => choose(p)}>${p.replace('h', ' h')}</button>`)}
    </div>`;
}

const SEVERITIES = ['critical', 'high', 'medium', 'low'];

const count = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');

/** A duration in ms as a few readable characters. */
export function duration(ms) {
  if (!Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const one = (n) => String(Number(n.toFixed(1))); // 5 rather than 5.0
  if (ms < 60_000) return `${one(ms / 1000)} s`;
  if (ms < 3_600_000) return `${one(ms / 60_000)} min`;
  if (ms < 86_400_000) return `${one(ms / 3_600_000)} h`;
  return `${one(ms / 86_400_000)} d`;
}

const perMinute = (v) => (v >= 100 ? count(v) : v >= 10 ? v.toFixed(0) : v === 0 ? '0' : v.toFixed(1));
const millis = (v) => (v === 0 ? '0' : v >= 1000 ? `${(v / 1000).toFixed(1)} s` : v >= 10 ? `${v.toFixed(0)} ms` : `${v.toFixed(1)} ms`);

const COUNTED = ['requests', 'status_4xx', 'status_5xx', 'logins_ok', 'logins_failed'];
const LATENCY = ['latency_p50_ms', 'latency_p95_ms', 'latency_p99_ms'];

/**
 * The traffic answer as chart columns over the whole period, one row per step: counts per
 * minute (a step cut short by the period's ends is divided by the minutes it covers), gaps
 * before the first minute the service counted and where no request was timed.
 */
export function columns(t) {
  const step = t.step_ms > 0 ? t.step_ms : 60_000;
  const byStart = new Map(t.points.map((p) => [p.t_ms, p]));
  const first = t.points.length ? t.points[0].t_ms : Infinity;
  const cols = { t: [], totals: {} };
  for (const f of [...COUNTED, ...LATENCY]) cols[f] = [];
  for (const f of COUNTED) cols.totals[f] = 0;
  for (let s = Math.floor(t.since_ms / step) * step; s < t.until_ms; s += step) {
    const p = byStart.get(s);
    const minutes = Math.max(1, (Math.min(s + step, t.until_ms) - Math.max(s, t.since_ms)) / 60_000);
    cols.t.push(s / 1000);
    for (const f of COUNTED) {
      cols[f].push(p ? p[f] / minutes : s < first ? null : 0);
      if (p) cols.totals[f] += p[f];
    }
    for (const f of LATENCY) cols[f].push(p && Number.isFinite(p[f]) ? p[f] : null);
  }
  const timed = t.points.filter((p) => Number.isFinite(p.latency_p95_ms));
  cols.lastP95 = timed.length ? timed[timed.length - 1].latency_p95_ms : null;
  return cols;
}

function Panel({ title, note, children, wide }) {
  return html`
    <section class=${wide ? 'panel wide' : 'panel'}>
      <h3>${title}${note != null && note !== '' && html` <span class="note">${note}</span>`}</h3>
      ${children}
    </section>`;
}

const pct = (part, whole) => (whole > 0 ? ` (${((100 * part) / whole).toFixed(1)}%)` : '');

function TrafficCharts({ traffic }) {
  // New arrays only with a new answer: each new array redraws its chart.
  const c = useMemo(() => {
    const k = columns(traffic);
    k.requestsData = [k.t, k.requests];
    k.loginsData = [k.t, k.logins_ok, k.logins_failed];
    k.errorsData = [k.t, k.status_4xx, k.status_5xx];
    k.latencyData = [k.t, k.latency_p50_ms, k.latency_p95_ms, k.latency_p99_ms];
    return k;
  }, [traffic]);
  const range = [traffic.since_ms / 1000, traffic.until_ms / 1000];
  const all = c.totals.requests;
  const t = c.totals;
  const errors = `${count(t.status_4xx)} 4xx${pct(t.status_4xx, all)}, ${count(t.status_5xx)} 5xx${pct(t.status_5xx, all)}`;
  return html`
    <div class="charts">
      <${Panel} title="Requests per minute" note=${`${count(all)} in all`}>
        <${Chart} series=${[{ label: 'requests', color: COLORS.accent, fill: 'rgba(95,179,249,0.12)' }]}
          data=${c.requestsData} range=${range} format=${perMinute} />
      <//>
      <${Panel} title="Logins per minute"
        note=${`${count(c.totals.logins_ok)} succeeded, ${count(c.totals.logins_failed)} failed`}>
        <${Chart} series=${[{ label: 'succeeded', color: COLORS.low }, { label: 'failed', color: COLORS.critical }]}
          data=${c.loginsData} range=${range} format=${perMinute} />
      <//>
      <${Panel} title="Errors per minute"
        note=${errors}>
        <${Chart} series=${[{ label: '4xx', color: COLORS.medium }, { label: '5xx', color: COLORS.critical }]}
          data=${c.errorsData} range=${range} format=${perMinute} />
      <//>
      <${Panel} title="Response time" note=${c.lastP95 == null ? 'no timed requests' : `p95 now ${millis(c.lastP95)}`}>
        <${Chart} series=${[
          { label: 'p50', color: COLORS.low },
          { label: 'p95', color: COLORS.medium },
          { label: 'p99', color: COLORS.high },
        ]} data=${c.latencyData} range=${range} format=${millis} />
      <//>
    </div>
    ${traffic.late_events > 0 && html`
      <p class="muted">${count(traffic.late_events)} events arrived more than a day late: stored, not charted.</p>`}`;
}

/** Open incidents: totals of "at least this severity" give the count of each. */
async function loadIncidents() {
  const ask = (severity, limit) => api('GET', `/v1/incidents${query({ status: 'open', severity, limit })}`);
  const [all, ...atLeast] = await Promise.all([ask('', 5), ...SEVERITIES.slice(0, 3).map((s) => ask(s, 1))]);
  const totals = [...atLeast.map((p) => p.total), all.total]; // critical, high, medium, low (all)
  const by = {};
  SEVERITIES.forEach((s, i) => {
    by[s] = totals[i] - (i > 0 ? totals[i - 1] : 0);
  });
  return { total: all.total, by, newest: all.items };
}

function Incidents({ data }) {
  const max = Math.max(1, ...SEVERITIES.map((s) => data.by[s]));
  return html`
    <ul class="sev-bars">
      ${SEVERITIES.map((s) => html`
        <li key=${s} class=${`sev-bar sev-bar-${s}`}>
          <span class="name">${s}</span>
          <progress max=${max} value=${data.by[s]} aria-label=${`${s} incidents open`}></progress>
          <span class="n">${count(data.by[s])}</span>
        </li>`)}
    </ul>
    ${data.newest.length === 0
      ? html`<p class="muted">No open incident.</p>`
      : html`
        <table class="compact">
          <tbody>
            ${data.newest.map(({ incident: i }) => html`
              <tr key=${i.id}>
                <td><${Severity} value=${i.severity} /></td>
                <td><a href=${`#/incident/${encodeURIComponent(i.id)}`}>${i.title || i.id}</a></td>
                <td class="when">${time(i.opened_at_ms)}</td>
              </tr>`)}
          </tbody>
        </table>`}`;
}

/** The newest active decisions, and how many more wait for a person's approval. */
async function loadDecisions() {
  const [active, proposed] = await Promise.all([
    api('GET', `/v1/decisions${query({ status: 'active', limit: 6 })}`),
    api('GET', `/v1/decisions${query({ status: 'proposed', limit: 1 })}`),
  ]);
  return { ...active, proposed: proposed.total };
}

function Decisions({ data }) {
  const waiting = data.proposed > 0 && html`
    <p class="warning"><a href="#/decisions">${count(data.proposed)} proposed, awaiting approval</a></p>`;
  if (data.items.length === 0) return html`<p class="muted">No active decision.</p>${waiting}`;
  return html`
    ${waiting}
    <table class="compact">
      <tbody>
        ${data.items.map((d) => html`
          <tr key=${d.id}>
            <td><span class="action">${d.action}</span></td>
            <td class="actor">${d.scope}:${d.value}</td>
            <td class="when" title="Expires">${d.expires_at_ms ? `until ${time(d.expires_at_ms)}` : ''}</td>
          </tr>`)}
      </tbody>
    </table>
    ${data.total > data.items.length && html`
      <p class="muted"><a href="#/decisions">${count(data.total - data.items.length)} more…</a></p>`}`;
}

function Kpi({ label, value, hint }) {
  return html`
    <div class="kpi">
      <span class="label">${label}</span><span class="value">${value}</span><span class="hint">${hint}</span>
    </div>`;
}

function Kpis({ incidents, decisions, security, period }) {
  const o = (security && security.overall) || {};
  const rate = Number.isFinite(o.false_positive_rate) ? `${(100 * o.false_positive_rate).toFixed(1)}%` : '–';
  const over = Number.isFinite(o.incidents)
    ? `${count(o.incidents)} ${o.incidents === 1 ? 'incident' : 'incidents'} opened, ${PERIOD_SHORT[period]}`
    : '';
  const waiting = decisions && decisions.proposed > 0 ? `${count(decisions.proposed)} proposed, awaiting approval` : 'none awaiting approval';
  return html`
    <div class="kpis">
      <${Kpi} label="Open incidents" value=${incidents ? count(incidents.total) : '…'}
        hint=${incidents ? `${count(incidents.by.critical)} critical, ${count(incidents.by.high)} high` : ''} />
      <${Kpi} label="Active decisions" value=${decisions ? count(decisions.total) : '…'} 
        hint=${decisions ? waiting : ''} />
      <${Kpi} label="Mean time to detect" value=${security ? duration(o.mean_time_to_detect_ms) : '…'} hint=${over} />
      <${Kpi} label="Mean time to respond" value=${security ? duration(o.mean_time_to_respond_ms) : '…'}
        hint=${Number.isFinite(o.closed) ? `${count(o.closed)} closed` : ''} />
      <${Kpi} label="False-positive rate" value=${security ? rate : '…'}
        hint=${Number.isFinite(o.false_positives) ? `${count(o.false_positives)} false positives` : ''} />
    </div>`;
}

/** A silent source's name and how long it has been quiet, as far as the report says. */
function silence(s, afterDefault) {
  if (Number.isFinite(s.last_delivered_ms)) return `${s.name} (nothing since ${time(s.last_delivered_ms)} UTC)`;
  const after = Number.isFinite(s.silent_after_ms) ? s.silent_after_ms : afterDefault;
  return Number.isFinite(after) ? `${s.name} (nothing for ${duration(after)} or more)` : `${s.name} (nothing yet)`;
}

const Failed = ({ error }) => html`<p class="error" role="alert">${error}</p>`;

export function Overview({ arg }) {
  const [period, setPeriod] = useState(periodOf(arg));
  const [traffic, trafficError] = useLoad(
    () => api('GET', `/v1/metrics/traffic${query({ since: period })}`), [period], OVERVIEW_REFRESH_MS);
  const [security, securityError] = useLoad(
    () => api('GET', `/v1/metrics/security${query({ since: period })}`), [period], OVERVIEW_REFRESH_MS);
  const [incidents, incidentsError] = useLoad(loadIncidents, [], OVERVIEW_REFRESH_MS);
  const [decisions, decisionsError] = useLoad(loadDecisions, [], OVERVIEW_REFRESH_MS);
  const [sources, sourcesError] = useLoad(() => api('GET', '/v1/sources'), [], OVERVIEW_REFRESH_MS);
  const silent = sources ? sources.items.filter((s) => s.silent) : [];
  const updated = traffic ? time(traffic.until_ms).slice(11) : '';
  const health = sources && (silent.length ? `${silent.length} of ${sources.items.length} silent` : `${sources.items.length} delivering`);
  return html`
    <section class="overview">
      <h2>Overview
        <${PeriodPicker} page="overview" value=${period} onChange=${setPeriod} />
        ${updated && html`<span class="muted updated">updated ${updated} UTC</span>`}
      </h2>
      ${silent.length > 0 && html`
        <p class="alarm" role="alert">
          ${silent.length === 1 ? 'A source is silent' : `${silent.length} sources are silent`}:
          ${' '}${silent.map((x) => silence(x, sources.silent_after_ms)).join(', ')}.
        </p>`}
      ${securityError && html`<${Failed} error=${`Security KPIs: ${securityError}`} />`}
      <${Kpis} incidents=${incidents} decisions=${decisions} security=${security} period=${period} />
      ${trafficError ? html`<${Failed} error=${`Traffic: ${trafficError}`} />`
        : traffic ? html`<${TrafficCharts} traffic=${traffic} />` : html`<p class="muted">Loading…</p>`}
      <div class="columns">
        <${Panel} title="Open incidents by severity" note=${incidents ? `${count(incidents.total)} open` : ''}>
          ${incidentsError ? html`<${Failed} error=${incidentsError} />`
            : incidents ? html`<${Incidents} data=${incidents} />` : html`<p class="muted">Loading…</p>`}
        <//>
        <${Panel} title="Active decisions" note=${decisions ? `${count(decisions.total)} active` : ''}>
          ${decisionsError ? html`<${Failed} error=${decisionsError} />`
            : decisions ? html`<${Decisions} data=${decisions} />` : html`<p class="muted">Loading…</p>`}
        <//>
      </div>
      <${Panel} title="Sources" wide=${true}
        note=${health || ''}>
        ${sourcesError ? html`<${Failed} error=${sourcesError} />`
          : sources ? html`<${SourcesTable} report=${sources} />` : html`<p class="muted">Loading…</p>`}
      <//>
    </section>`;
}
