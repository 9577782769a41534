// One incident: what happened in order (every alert with the events behind it), who did it
// and how those actors are tied together, what was decided; triage and response for analysts.
import { useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { Severity, html, time, useLoad } from '../format.js';
import {
  ActorLink,
  EventTable,
  Notice,
  RespondButtons,
  RespondSettings,
  canChange,
  eventActors,
  ms,
  splitActor,
  text,
  useChange,
  useRespondSettings,
} from '../ui.js';
import { DecisionTable } from './decisions.js';

/** How often the incident is asked again, ms. */
const INCIDENT_REFRESH_MS = 10_000;
/** Actors whose decisions are looked up besides the incident's own. */
const ACTOR_LOOKUPS_MAX = 20;
/** Actors whose correlation links are looked up. */
const ACTOR_VIEWS_MAX = 10;

const KIND_NAMES = {
  ip: ['address', 'addresses'],
  user: ['user', 'users'],
  token: ['token', 'tokens'],
  session: ['session', 'sessions'],
  consumer: ['consumer', 'consumers'],
};
const kindName = (kind, n) => (KIND_NAMES[kind] ? KIND_NAMES[kind][n === 1 ? 0 : 1] : kind);

async function loadIncident(id) {
  const inc = await api('GET', `/v1/incidents/${encodeURIComponent(id)}`);
  // Decisions on the incident's actors made elsewhere (the actor page, before the incident) count too.
  const actors = ((inc.incident && inc.incident.actors) || []).slice(0, ACTOR_LOOKUPS_MAX);
  const pages = await Promise.all(
    actors.map((a) => {
      const { kind, value } = splitActor(a);
      return api('GET', `/v1/decisions${query({ scope: kind, value, limit: 100 })}`).catch(() => ({ items: [] }));
    }),
  );
  // What correlation links each actor to (the address a token came from, the user behind it).
  const views = await Promise.all(
    actors.slice(0, ACTOR_VIEWS_MAX).map((a) =>
      api('GET', `/v1/actors/${encodeURIComponent(a)}`).then((v) => [a, v.linked || []], () => [a, []]),
    ),
  );
  inc.linked = new Map(views);
  const byId = new Map();
  for (const d of [...(inc.decisions || []), ...pages.flatMap((p) => p.items)]) byId.set(d.id, d);
  inc.allDecisions = [...byId.values()].sort((a, b) => b.created_at_ms - a.created_at_ms || b.id - a.id);
  return inc;
}

/**
 * For each actor: how many evidence events show it, and the other actors seen in them or
 * linked to it by correlation.
 */
function links(timeline, linked) {
  const seen = new Map();
  const entry = (a) => {
    if (!seen.has(a)) seen.set(a, { events: 0, with: new Set() });
    return seen.get(a);
  };
  for (const [a, list] of linked || []) for (const b of list) entry(a).with.add(b);
  for (const alert of timeline) {
    for (const ev of alert.evidence || []) {
      const ids = eventActors(ev);
      for (const a of ids) {
        const s = entry(a);
        s.events += 1;
        for (const b of ids) if (b !== a) s.with.add(b);
      }
    }
  }
  return seen;
}

function ActorRow({ id, link, session, settings, change }) {
  const others = link ? [...link.with] : [];
  const byKind = {};
  for (const o of others) (byKind[splitActor(o).kind] ||= []).push(o);
  const { kind } = splitActor(id);
  return html`
    <li class="actor-row">
      <div class="actor-line">
        <${ActorLink} id=${id} />
        <${RespondButtons} id=${id} settings=${settings} change=${change} session=${session} />
      </div>
      <div class="muted">
        ${link && link.events ? `in ${link.events} evidence event${link.events === 1 ? '' : 's'}` : 'in no evidence event kept'}
        ${Object.entries(byKind).map(([k, list]) => html`
          <span key=${k} class="linked">
            ${' · '}${kind !== 'ip' && k === 'ip' ? 'used from' : 'linked to'} ${list.length} ${kindName(k, list.length)}:
            ${list.slice(0, 8).map((o, i) => html`${i ? ', ' : ' '}<${ActorLink} id=${o} label=${splitActor(o).value} />`)}
            ${list.length > 8 ? ` and ${list.length - 8} more` : ''}
          </span>`)}
      </div>
    </li>`;
}

function Evidence({ events }) {
  if (!events || events.length === 0) return html`<p class="muted">No evidence events kept.</p>`;
  return html`<${EventTable} events=${events} />`;
}

function Alert({ alert }) {
  const r = alert.response;
  const n = (alert.evidence || []).length;
  return html`
    <li class="alert-item">
      <div class="alert-head">
        <span class="nowrap muted">${time(ms(alert.first_seen))} → ${time(ms(alert.last_seen))}</span>
        <${Severity} value=${alert.severity} />
        <strong>${alert.title}</strong>
        <span class="mono muted">${alert.rule}</span>
      </div>
      <p>${alert.summary}</p>
      <p class="muted">${[
        `${alert.count} event${alert.count === 1 ? '' : 's'}${n ? `, ${n} kept as evidence` : ''}`,
        `detected ${time(ms(alert.detected_at))}`,
        `by ${Object.entries(alert.actor || {}).map(([k, v]) => `${k}=${v}`).join(', ')}`,
        alert.owasp && `OWASP ${alert.owasp}`,
        alert.attack && `ATT&CK ${alert.attack}`,
        r && `proposes ${r.action} ${r.scope}=${r.value} for ${r.duration}`,
      ].filter(Boolean).join(' · ')}</p>
      <${Evidence} events=${alert.evidence} />
    </li>`;
}

function Triage({ id, triage, change }) {
  const [assignee, setAssignee] = useState(triage.assignee || '');
  const [note, setNote] = useState('');
  const patch = (body, done) => change.run(() => api('PATCH', `/v1/incidents/${encodeURIComponent(id)}`, body), done);
  const status = triage.status;
  const closed = status === 'resolved' || status === 'false_positive';
  return html`
    <div class="triage">
      <div class="row-actions">
        ${status === 'open' && html`<button type="button" disabled=${change.busy} onClick=${() => patch({ status: 'acknowledged' }, 'Acknowledged.')}>Acknowledge</button>`}
        ${!closed && html`<button type="button" disabled=${change.busy} onClick=${() => patch({ status: 'resolved', verdict: 'true_positive' }, 'Resolved (true positive).')}>Resolve</button>`}
        ${!closed && html`<button type="button" class="secondary" disabled=${change.busy} onClick=${() => patch({ status: 'false_positive', verdict: 'false_positive' }, 'Marked a false positive.')}>Mark false positive</button>`}
        ${closed && html`<button type="button" class="secondary" disabled=${change.busy} onClick=${() => patch({ status: 'open' }, 'Reopened.')}>Reopen</button>`}
      </div>
      <form class="inline-form" onSubmit=${(e) => {
        e.preventDefault();
        patch({ assignee: assignee.trim() }, assignee.trim() ? `Assigned to ${assignee.trim()}.` : 'Unassigned.');
      }}>
        <label>Assignee<input name="assignee" value=${assignee} placeholder="a name" onInput=${(e) => setAssignee(e.currentTarget.value)} /></label>
        <button type="submit" class="secondary" disabled=${change.busy}>Assign</button>
      </form>
      <form class="inline-form grow" onSubmit=${async (e) => {
        e.preventDefault();
        if (!note.trim()) return;
        if (await patch({ note }, 'Note added.')) setNote('');
      }}>
        <label class="grow">Note<input name="note" value=${note} placeholder="what you found, what you did" onInput=${(e) => setNote(e.currentTarget.value)} /></label>
        <button type="submit" class="secondary" disabled=${change.busy}>Add note</button>
      </form>
    </div>`;
}

export function Incident({ arg, session }) {
  const [inc, error, reload] = useLoad(() => loadIncident(arg), [arg], INCIDENT_REFRESH_MS);
  const change = useChange(reload);
  const [settings, setSettings] = useRespondSettings(`incident ${arg}`, arg);
  if (!arg) return html`<p class="muted">No incident named: open one from the <a href="#/feed">live feed</a>.</p>`;
  if (error && !inc) return html`<section><h2>Incident</h2><p class="error" role="alert">${error}</p></section>`;
  if (!inc) return html`<p class="muted">Loading…</p>`;
  const i = inc.incident;
  const t = inc.triage;
  const timeline = inc.timeline || [];
  const linked = links(timeline, inc.linked);
  const groups = {};
  for (const a of i.actors || []) (groups[splitActor(a).kind] ||= []).push(a);
  const may = canChange(session);
  return html`
    <section class="page-incident">
      <h2><${Severity} value=${i.severity} /> ${i.title} <span class=${`status status-${String(t.status).replace(/[^a-z_]/g, '')}`}>${String(t.status).replace('_', ' ')}</span></h2>
      <dl class="facts">
        <div><dt>Incident</dt><dd class="mono">${i.id}</dd></div>
        <div><dt>Assignee</dt><dd>${t.assignee || '—'}</dd></div>
        <div><dt>Status by</dt><dd>${t.status_by || '—'}</dd></div>
        <div><dt>Verdict</dt><dd>${t.verdict || '—'}</dd></div>
        <div><dt>First event</dt><dd>${time(i.first_event_ms)}</dd></div>
        <div><dt>Opened</dt><dd>${time(i.opened_at_ms)}</dd></div>
        <div><dt>Updated</dt><dd>${time(i.updated_at_ms)}</dd></div>
        <div><dt>Risk</dt><dd>${Math.round(i.risk)}</dd></div>
        <div><dt>Rules</dt><dd class="mono">${(i.rules || []).join(', ')}</dd></div>
      </dl>
      ${error && html`<p class="warning">Could not refresh: ${error}</p>`}
      <${Notice} notice=${change.notice} />
      ${may ? html`<${Triage} key=${`${t.assignee}`} id=${i.id} triage=${t} change=${change} />`
        : html`<p class="muted">You (${session.role}) can read this incident; changing it takes an analyst or an administrator.</p>`}

      <div class="incident-layout">
        <div class="col-main">
          <h3>Attacker timeline (${timeline.length} alert${timeline.length === 1 ? '' : 's'})</h3>
          <ol class="timeline">${timeline.map((a) => html`<${Alert} key=${a.id} alert=${a} />`)}</ol>
        </div>
        <div class="col-side">
          <h3>Actors</h3>
          ${may && html`<${RespondSettings} session=${session} settings=${settings} setSettings=${setSettings} />`}
          ${Object.entries(groups).map(([kind, list]) => html`
            <div key=${kind} class="actor-group">
              <h4>${list.length} ${kindName(kind, list.length)}</h4>
              <ul>${list.map((a) => html`<${ActorRow} key=${a} id=${a} link=${linked.get(a)} session=${session} settings=${settings} change=${change} />`)}</ul>
            </div>`)}
          <h3>Notes</h3>
          ${(inc.notes || []).length === 0
            ? html`<p class="muted">No notes.</p>`
            : html`<ul class="notes">${inc.notes.map((n) => html`<li key=${n.id}><span class="muted">${time(n.at_ms)} ${n.author}:</span> ${n.text}</li>`)}</ul>`}
        </div>
      </div>

      <h3>Decisions (${inc.allDecisions.length})</h3>
      <p class="muted">This incident's own, and any other on its actors.</p>
      <${DecisionTable} items=${inc.allDecisions} session=${session} change=${change} showIncident=${false} />
    </section>`;
}
