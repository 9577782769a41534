// Each source's health: events per second, lag, last delivery, and whether it went silent.
import { api } from '../api.js';
import { html, time, useLoad } from '../format.js';

/** How often the sources' health is asked again, ms. */
const SOURCES_REFRESH_MS = 5000;

const seconds = (ms) => (ms == null ? '' : `${(ms / 1000).toFixed(1)} s`);
const minutes = (ms) => (ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`);

/** The table of sources, shared with the overview. */
export function SourcesTable({ report }) {
  return html`
    <table class="sources">
      <thead><tr><th>Source</th><th>Kind</th><th>Events/s</th><th>Events</th><th>Lag</th><th>Last delivered</th><th>Silent after</th><th>State</th></tr></thead>
      <tbody>
        ${report.items.map((s) => html`
          <tr key=${s.name} class=${s.silent ? 'silent' : ''}>
            <td>${s.name}</td><td>${s.kind}</td><td>${s.events_per_second.toFixed(1)}</td>
            <td>${s.events_total}</td><td>${seconds(s.lag_ms)}</td><td>${time(s.last_delivered_ms)}</td>
            <td>${s.silent_after_ms == null ? 'never' : minutes(s.silent_after_ms)}</td>
            <td>${s.silent ? html`<span class="sev sev-high">silent</span>` : 'delivering'}</td>
          </tr>`)}
      </tbody>
    </table>`;
}

export function Sources() {
  const [report, error] = useLoad(() => api('GET', '/v1/sources'), [], SOURCES_REFRESH_MS);
  if (error) return html`<p class="error">${error}</p>`;
  if (!report) return html`<p class="muted">Loading…</p>`;
  return html`
    <section>
      <h2>Sources</h2>
      <${SourcesTable} report=${report} />
      <p class="muted">A source is silent when nothing has come for its <code>silent_after</code> (default ${minutes(report.silent_after_ms)}); one that had delivered then raises a <code>source-silent</code> alert.</p>
    </section>`;
}
