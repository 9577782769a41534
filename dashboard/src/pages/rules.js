// The rules running now, how often each fired and how often that was wrong, and mutes: a
// rule silenced for one actor for a while.
import { useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { Severity, html, time, useLoad } from '../format.js';
import { ActorLink, Notice, canChange, relative, useChange } from '../ui.js';

/** The periods the statistics can be counted over. */
const PERIODS = ['24h', '7d', '30d'];

async function loadRules(since) {
  const [rules, metrics, mutes] = await Promise.all([
    api('GET', `/v1/rules${query({ since })}`),
    api('GET', `/v1/metrics/security${query({ since })}`).catch(() => null),
    api('GET', '/v1/mutes'),
  ]);
  const kpis = new Map(((metrics && metrics.per_rule) || []).map((k) => [k.rule, k]));
  return { rules: rules.items, since_ms: rules.since_ms, until_ms: rules.until_ms, kpis, mutes: mutes.items };
}

const DASH = '—';
const num = (v) => (v === undefined || v === null ? DASH : String(v));
const pct = (v) => (v === undefined || v === null ? DASH : `${Math.round(v * 1000) / 10}%`);

/** A value from the rule itself when the API gives it, else from the per-rule KPIs. */
function stat(rule, kpi, key) {
  if (rule[key] !== undefined) return rule[key];
  return kpi ? kpi[key] : undefined;
}

function MuteForm({ rules, change, form, setForm }) {
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  const submit = (e) => {
    e.preventDefault();
    change.run(
      () => api('POST', '/v1/mutes', { rule: form.rule, actor: form.actor.trim(), duration: form.duration.trim(), reason: form.reason }),
      (r) => `Mute ${r.id}: ${form.rule} muted for ${form.actor.trim()} for ${form.duration.trim()}.`,
    );
  };
  return html`
    <form class="mute-form" onSubmit=${submit} aria-label="Mute a rule for an actor">
      <label>Rule
        <select name="mute-rule" value=${form.rule} onChange=${set('rule')} required>
          <option value="">Choose a rule…</option>
          ${rules.map((r) => html`<option key=${r.id} value=${r.id}>${r.id}</option>`)}
        </select>
      </label>
      <label>Actor (kind:value)<input name="mute-actor" value=${form.actor} placeholder="ip:203.0.113.7" onInput=${set('actor')} required /></label>
      <label>Duration<input name="mute-duration" size="6" value=${form.duration} onInput=${set('duration')} required /></label>
      <label class="grow">Reason<input name="mute-reason" value=${form.reason} placeholder="why this is expected" onInput=${set('reason')} required /></label>
      <button type="submit" disabled=${change.busy}>Mute</button>
    </form>`;
}

export function Rules({ session }) {
  const [since, setSince] = useState(PERIODS[0]);
  const [data, error, reload] = useLoad(() => loadRules(since), [since]);
  const change = useChange(reload);
  const [filter, setFilter] = useState('');
  const [form, setForm] = useState({ rule: '', actor: '', duration: '24h', reason: '' });
  const may = canChange(session);
  if (error && !data) return html`<section><h2>Rules</h2><p class="error" role="alert">${error}</p></section>`;
  if (!data) return html`<p class="muted">Loading…</p>`;
  const f = filter.toLowerCase();
  // The rules that fired first, the most often first; the others by id.
  const weight = (r) => [r.fired || 0, stat(r, data.kpis.get(r.id), 'incidents') || 0];
  const shown = data.rules
    .filter((r) => !f || `${r.id} ${r.title} ${r.kind} ${r.severity} ${r.mode} ${r.owasp || ''}`.toLowerCase().includes(f))
    .sort((a, b) => {
      const [fa, ia] = weight(a);
      const [fb, ib] = weight(b);
      return fb - fa || ib - ia || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    });
  const now = Date.now();
  return html`
    <section class="page-rules">
      <h2>Rules <span class="muted small">${data.rules.length} loaded</span></h2>
      <${Notice} notice=${change.notice} />
      <h3>Mutes (${data.mutes.length})</h3>
      ${may ? html`<${MuteForm} rules=${data.rules} change=${change} form=${form} setForm=${setForm} />`
        : html`<p class="muted">Muting a rule takes an analyst or an administrator.</p>`}
      ${data.mutes.length === 0
        ? html`<p class="muted">No rule is muted.</p>`
        : html`
          <table class="mutes">
            <thead><tr><th>#</th><th>Rule</th><th>Actor</th><th>Reason</th><th>By</th><th>Since</th><th>Until</th>${may && html`<th></th>`}</tr></thead>
            <tbody>
              ${data.mutes.map((m) => html`
                <tr key=${m.id}>
                  <td>${m.id}</td><td class="mono">${m.rule}</td><td><${ActorLink} id=${m.actor} /></td>
                  <td>${m.reason}</td><td>${m.created_by}</td><td class="nowrap">${time(m.created_at_ms)}</td>
                  <td class="nowrap">${m.expires_at_ms == null ? 'until deleted' : `${time(m.expires_at_ms)} (${relative(m.expires_at_ms, now)})`}</td>
                  ${may && html`<td><button type="button" class="secondary" disabled=${change.busy} aria-label=${`Delete mute ${m.id}`}
                    onClick=${() => change.run(() => api('DELETE', `/v1/mutes/${m.id}`), `Mute ${m.id} deleted.`)}>Delete</button></td>`}
                </tr>`)}
            </tbody>
          </table>`}

      <h3>Loaded rules</h3>
      <div class="filters">
        <label>Filter<input name="rule-filter" value=${filter} placeholder="id, title, kind…" onInput=${(e) => setFilter(e.currentTarget.value)} /></label>
        <label>Counted over the last
          <select name="rule-period" value=${since} onChange=${(e) => setSince(e.currentTarget.value)}>
            ${PERIODS.map((p) => html`<option key=${p} value=${p}>${p}</option>`)}
          </select>
        </label>
      </div>
      <p class="muted">${Number.isFinite(data.since_ms) ? `From ${time(data.since_ms)} to ${time(data.until_ms)} (UTC). ` : ''}Fired: alerts raised. Incidents and false positives count incidents the rule took part in; the false-positive rate is over the closed ones.</p>
      <table class="rules">
        <thead><tr>
          <th>Rule</th><th>Severity</th><th>Kind</th><th>Mode</th><th class="num">Fired</th><th class="num">Incidents</th>
          <th class="num">False positives</th><th class="num">FP rate</th>${may && html`<th></th>`}
        </tr></thead>
        <tbody>
          ${shown.map((r) => {
            const k = data.kpis.get(r.id);
            return html`
              <tr key=${r.id}>
                <td><span class="mono">${r.id}</span><br /><span class="muted">${r.title}</span></td>
                <td><${Severity} value=${r.severity} /></td>
                <td>${r.kind}</td>
                <td><span class=${`mode mode-${String(r.mode).replace(/[^a-z]/g, '')}`}>${r.mode}</span></td>
                <td class="num">${num(r.fired)}</td>
                <td class="num">${num(stat(r, k, 'incidents'))}</td>
                <td class="num">${num(stat(r, k, 'false_positives'))}</td>
                <td class="num">${pct(stat(r, k, 'false_positive_rate'))}</td>
                ${may && html`<td><button type="button" class="secondary small" aria-label=${`Mute ${r.id}`}
                  onClick=${() => {
                    setForm({ ...form, rule: r.id });
                    scrollTo({ top: 0, behavior: 'smooth' });
                  }}>Mute…</button></td>`}
              </tr>`;
          })}
        </tbody>
      </table>
    </section>`;
}
