// Decisions: the active ones enforcers hold, the proposals waiting for an administrator, and
// those that ended (lifted, expired, rejected); approve, reject, extend and lift.
import { useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { html, time, useLoad } from '../format.js';
import { ActorLink, Notice, duration, relative, route, useChange } from '../ui.js';

/** How often the lists are asked again, ms. */
const DECISIONS_REFRESH_MS = 5000;
/** Decisions one tab lists at most. */
const DECISIONS_MAX = 500;

const TABS = [
  { name: 'active', label: 'Active', statuses: ['active'] },
  { name: 'proposed', label: 'Proposed', statuses: ['proposed'] },
  { name: 'ended', label: 'Lifted, expired, rejected', statuses: ['lifted', 'expired', 'rejected'] },
];

function origin(d) {
  const o = d.origin || {};
  return o.kind === 'rule' ? `rule ${o.name}` : o.kind === 'person' ? `by ${o.name}` : '';
}

function StatusBadge({ status }) {
  return html`<span class=${`status status-${String(status || '').replace(/[^a-z_]/g, '')}`}>${status}</span>`;
}

/** Which changes a decision in this status takes (the API's own rules). */
function changesOf(d, now) {
  if (d.status === 'proposed') return ['approve', 'reject'];
  if (d.status === 'active' && d.expires_at_ms > now) return ['extend', 'lift'];
  return [];
}

/**
 * A table of decisions with the administrator's changes. `change` is a `useChange` whose
 * `after` reloads the page; `extendBy` is the duration an extension adds.
 */
export function DecisionTable({ items, session, change, extendBy = '1h', showIncident = true }) {
  const now = Date.now();
  const admin = session && session.role === 'admin';
  const act = (d, what) => {
    const label = `${d.action} ${d.scope} ${d.value}`;
    if (what === 'extend') {
      return change.run(
        () => api('POST', `/v1/decisions/${d.id}/extend`, { by: extendBy }),
        (n) => `Decision ${d.id} (${label}) extended by ${extendBy}: now ends ${time(n.expires_at_ms)}.`,
      );
    }
    if (what === 'lift') {
      return change.run(() => api('DELETE', `/v1/decisions/${d.id}`), (n) => `Decision ${d.id} (${label}) ${n.status}.`);
    }
    return change.run(
      () => api('POST', `/v1/decisions/${d.id}/${what}`),
      (n) => `Decision ${d.id} (${label}) ${n.status}.`,
    );
  };
  if (!items || items.length === 0) return html`<p class="muted">No decisions.</p>`;
  return html`
    <table class="decisions">
      <thead><tr>
        <th>#</th><th>Action</th><th>Scope</th><th>Value</th><th>Status</th><th>Origin</th>
        <th>Created</th><th>Expires</th><th>Reason</th>${admin && html`<th>Change</th>`}
      </tr></thead>
      <tbody>
        ${items.map((d) => html`
          <tr key=${d.id} class=${`decision-${String(d.status).replace(/[^a-z]/g, '')}`}>
            <td>${d.id}</td>
            <td>${d.action}</td>
            <td>${d.scope}</td>
            <td><${ActorLink} id=${`${d.scope}:${d.value}`} label=${d.value} /></td>
            <td><${StatusBadge} status=${d.status} /></td>
            <td>${origin(d)}</td>
            <td class="nowrap">${time(d.created_at_ms)}</td>
            <td class="nowrap">
              ${d.status === 'proposed' ? `${duration(d.duration_ms)} once approved` : time(d.expires_at_ms)}
              ${d.status === 'active' && html`<br /><span class="muted">${relative(d.expires_at_ms, now)}</span>`}
            </td>
            <td>
              ${d.reason}
              ${showIncident && d.incident_id && html`<br /><a href=${route('incident', d.incident_id)}>incident ${d.incident_id}</a>`}
              ${d.outcome && html`<br /><span class="muted">Application: ${d.outcome}</span>`}
            </td>
            ${admin && html`
              <td><div class="row-actions">
                ${changesOf(d, now).map((what) => html`
                  <button type="button" key=${what} class=${what === 'approve' ? '' : 'secondary'} disabled=${change.busy}
                    aria-label=${`${what === 'extend' ? `Extend by ${extendBy}` : what[0].toUpperCase() + what.slice(1)} decision ${d.id}`}
                    onClick=${() => act(d, what)}>${what === 'extend' ? `Extend ${extendBy}` : what[0].toUpperCase() + what.slice(1)}</button>`)}
              </div></td>`}
          </tr>`)}
      </tbody>
    </table>`;
}

async function loadTab(tab) {
  const pages = await Promise.all(
    tab.statuses.map((status) => api('GET', `/v1/decisions${query({ status, limit: DECISIONS_MAX })}`)),
  );
  const items = pages.flatMap((p) => p.items).sort((a, b) => b.created_at_ms - a.created_at_ms || b.id - a.id);
  const total = pages.reduce((n, p) => n + p.total, 0);
  const counts = await Promise.all(
    TABS.map((t) =>
      Promise.all(t.statuses.map((status) => api('GET', `/v1/decisions${query({ status, limit: 1 })}`))).then((ps) =>
        ps.reduce((n, p) => n + p.total, 0),
      ),
    ),
  );
  return { items, total, counts };
}

export function Decisions({ arg, session }) {
  const tab = TABS.find((t) => t.name === arg) || TABS[0];
  const [data, error, reload] = useLoad(() => loadTab(tab), [tab.name], DECISIONS_REFRESH_MS);
  const change = useChange(reload);
  const [extendBy, setExtendBy] = useState('1h');
  const [filter, setFilter] = useState('');
  const admin = session.role === 'admin';
  const shown = data
    ? data.items.filter((d) => {
        if (!filter) return true;
        const hay = `${d.action} ${d.scope} ${d.value} ${d.reason} ${(d.origin && d.origin.name) || ''} ${d.incident_id || ''}`;
        return hay.toLowerCase().includes(filter.toLowerCase());
      })
    : [];
  return html`
    <section class="page-decisions">
      <h2>Decisions</h2>
      <nav class="tabs" aria-label="Decision status">
        ${TABS.map((t, i) => html`
          <a key=${t.name} href=${route('decisions', t.name)} class=${t === tab ? 'current' : ''} aria-current=${t === tab ? 'page' : undefined}>
            ${t.label}${data ? ` (${data.counts[i]})` : ''}
          </a>`)}
      </nav>
      <div class="filters">
        <label>Filter<input name="decision-filter" value=${filter} placeholder="value, reason, rule…" onInput=${(e) => setFilter(e.currentTarget.value)} /></label>
        ${admin && html`<label>Extend by<input name="extend-by" size="6" value=${extendBy} onInput=${(e) => setExtendBy(e.currentTarget.value)} /></label>`}
      </div>
      ${!admin && html`<p class="muted">Only administrators approve, reject, extend or lift decisions; you (${session.role}) can see them.</p>`}
      <${Notice} notice=${change.notice} />
      ${error && html`<p class="error" role="alert">${error}</p>`}
      ${!data && !error && html`<p class="muted">Loading…</p>`}
      ${data && html`
        <${DecisionTable} items=${shown} session=${session} change=${change} extendBy=${extendBy} />
        ${data.total > data.items.length && html`<p class="muted">The newest ${data.items.length} of ${data.total} are listed.</p>`}`}
    </section>`;
}
