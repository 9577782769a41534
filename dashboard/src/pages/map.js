// The threat map: the world shaded by requests or by alerts per country over a period, and
// the networks that drew the most alerts. Country codes, network names and organisations
// come from the traffic (attacker-influenced) and are shown as text only.
import { useMemo, useState } from 'preact/hooks';
import { geoEqualEarth, geoPath } from 'd3-geo';
import { feature } from 'topojson-client';
import world from 'world-atlas/countries-110m.json';
import codes from 'i18n-iso-countries/codes.json';
import { api, query } from '../api.js';
import { html, useLoad } from '../format.js';
import { PeriodPicker, periodOf } from './overview.js';

/** How often the map asks again, ms. */
const MAP_REFRESH_MS = 10_000;
/** The map's drawing size, in SVG units (the SVG scales to its box). */
const WIDTH = 960;
const HEIGHT = 440;
/** Networks listed. */
const NETWORKS_SHOWN = 20;
/** Countries listed beside the map. */
const COUNTRIES_SHOWN = 12;
/** What stands for the organisation of a network known only by its address block. */
const NO_AS = 'address block (no AS known)';

const MODES = {
  requests: { label: 'Traffic', unit: 'requests', from: '#23486d', to: '#7cc4ff' },
  alerts: { label: 'Alerts', unit: 'alerts', from: '#5c2b22', to: '#ff5c5c' },
};
/** A country with nothing to show. */
const EMPTY_FILL = '#262e39';

/** ISO 3166-1 numeric (world-atlas' ids) to alpha-2 (the API's codes). */
const ALPHA2 = new Map(codes.map(([a2, , n3]) => [n3, a2]));
/** Countries Natural Earth draws without a numeric code. */
const ALPHA2_BY_NAME = { Kosovo: 'XK' };

let shapes = null;
/** The countries as SVG path data with their alpha-2 codes, projected once. */
function countryShapes() {
  if (shapes) return shapes;
  const all = feature(world, world.objects.countries).features.filter((f) => f.id !== '010'); // no Antarctica
  const projection = geoEqualEarth().fitExtent([[4, 4], [WIDTH - 4, HEIGHT - 4]], { type: 'FeatureCollection', features: all });
  const path = geoPath(projection);
  shapes = all.map((f, i) => ({
    key: f.id || `n${i}`,
    code: ALPHA2.get(f.id) || ALPHA2_BY_NAME[f.properties.name] || '',
    atlasName: f.properties.name,
    d: path(f) || '',
  }));
  return shapes;
}

let regionNames;
/** A country's English name from its alpha-2 code, from the browser's own data. */
export function countryName(code, fallback = '') {
  if (code === '??') return 'Unknown';
  if (code === 'other') return 'Other countries';
  try {
    regionNames = regionNames || new Intl.DisplayNames(['en'], { type: 'region' });
    const name = /^[A-Z]{2}$/.test(code) ? regionNames.of(code) : '';
    if (name && name !== code) return name;
  } catch {
    /* an unknown code keeps the fallback */
  }
  return fallback || code;
}

const count = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');

function hex(c) {
  return [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
}
/** The colour a fraction `t` (0..1) of the way from `from` to `to`. */
function mix(from, to, t) {
  const a = hex(from);
  const b = hex(to);
  return `#${a.map((x, i) => Math.round(x + (b[i] - x) * t).toString(16).padStart(2, '0')).join('')}`;
}

/** A log scale from 1 to `max` onto 0..1 (counts are skewed: a few countries send most). */
const scale = (max) => (v) => (max <= 1 ? 1 : Math.min(1, Math.max(0, Math.log(v) / Math.log(max))));

/** `n` with its noun, in the singular for one. */
export const plural = (n, noun) => `${count(n)} ${n === 1 ? noun.replace(/s$/, '') : noun}`;

/** The legend: the colour ramp with a few counts along it. */
function Legend({ mode, max, loaded }) {
  const m = MODES[mode];
  const at = scale(max);
  // 1, the powers of ten between that are not too close to the ends, and the most.
  const ticks = max >= 1 ? [1] : [];
  for (let v = 10; v < max; v *= 10) if (at(v) > 0.12 && at(v) < 0.85) ticks.push(v);
  if (max > 1) ticks.push(max);
  const x = (t) => 44 + t * 200;
  const anchor = (v) => (v === max ? 'end' : v === 1 ? 'start' : 'middle');
  return html`
    <svg class="legend" viewBox="0 0 260 36" role="img" aria-label=${`${m.unit} per country, log scale up to ${count(max)}`}>
      <defs>
        <linearGradient id="map-ramp">
          <stop offset="0" stop-color=${m.from} />
          <stop offset="1" stop-color=${m.to} />
        </linearGradient>
      </defs>
      <rect x="4" y="4" width="26" height="10" fill=${EMPTY_FILL} class="swatch" />
      <text x="17" y="28" text-anchor="middle">none</text>
      ${max > 0
        ? html`<rect x="44" y="4" width="200" height="10" fill="url(#map-ramp)" />
          ${ticks.map((v) => html`
            <g key=${v}>
              <line x1=${x(at(v))} x2=${x(at(v))} y1="14" y2="18" class="tick" />
              <text x=${x(at(v))} y="28" text-anchor=${anchor(v)}>${count(v)}</text>
            </g>`)}`
        : html`<text x="44" y="13">${loaded ? `no ${m.unit} from a known country` : 'no figures'}</text>`}
    </svg>`;
}

function WorldMap({ mode, byCode, onHover, loaded }) {
  const m = MODES[mode];
  const values = [...byCode.values()].filter((c) => /^[A-Z]{2}$/.test(c.country)).map((c) => c[mode] || 0);
  const max = Math.max(0, ...values);
  const at = scale(max);
  return html`
    <div class="map-box">
      <svg class="world" viewBox=${`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label=${`World map of ${m.unit} per country`}
        onMouseLeave=${() => onHover(null)}>
        ${countryShapes().map((s) => {
          const c = byCode.get(s.code);
          const v = c ? c[mode] || 0 : 0;
          const name = countryName(s.code, s.atlasName);
          const label = c ? `${name}: ${plural(c.requests, 'requests')}, ${plural(c.alerts, 'alerts')}` : `${name}: nothing seen`;
          return html`
            <path key=${s.key} d=${s.d} class=${v > 0 ? 'country seen' : 'country'} data-code=${s.code}
              fill=${v > 0 ? mix(m.from, m.to, at(v)) : EMPTY_FILL}
              onMouseEnter=${() => onHover(label)}><title>${label}</title></path>`;
        })}
      </svg>
      <${Legend} mode=${mode} max=${max} loaded=${loaded} />
    </div>`;
}

function Countries({ mode, countries }) {
  const rows = [...countries].sort((a, b) => (b[mode] || 0) - (a[mode] || 0) || (b.requests || 0) - (a.requests || 0))
    .filter((c) => (c[mode] || 0) > 0).slice(0, COUNTRIES_SHOWN);
  if (rows.length === 0) return html`<p class="muted">No ${MODES[mode].unit} in this period.</p>`;
  return html`
    <table class="compact countries">
      <thead><tr><th>Country</th><th class="num">Requests</th><th class="num">Alerts</th></tr></thead>
      <tbody>
        ${rows.map((c) => html`
          <tr key=${c.country}>
            <td>${countryName(c.country)} ${c.country !== 'other' && html`<span class="muted">${c.country}</span>`}</td>
            <td class="num">${count(c.requests)}</td><td class="num">${count(c.alerts)}</td>
          </tr>`)}
      </tbody>
    </table>`;
}

function Networks({ networks }) {
  const rows = [...networks].sort((a, b) => (b.alerts || 0) - (a.alerts || 0) || (b.requests || 0) - (a.requests || 0))
    .slice(0, NETWORKS_SHOWN);
  if (rows.length === 0) return html`<p class="muted">No network in this period.</p>`;
  return html`
    <table class="networks">
      <thead><tr>
        <th>Network</th><th>Organisation</th><th class="num">Alerts</th><th class="num">Requests</th>
        <th class="num">Addresses</th><th>Countries</th>
      </tr></thead>
      <tbody>
        ${rows.map((n) => html`
          <tr key=${n.network}>
            <td class="actor">${n.asn != null ? `AS${n.asn}` : n.network}</td>
            <td>${n.org != null ? n.org : html`<span class="muted">${n.asn != null ? '–' : NO_AS}</span>`}</td>
            <td class="num">${count(n.alerts)}</td><td class="num">${count(n.requests)}</td>
            <td class="num">${count(n.addresses)}</td>
            <td title=${(n.countries || []).map((c) => countryName(c)).join(', ')}>${(n.countries || []).join(', ')}</td>
          </tr>`)}
      </tbody>
    </table>`;
}

export function ThreatMap({ arg }) {
  const [period, setPeriod] = useState(periodOf(arg));
  const [mode, setMode] = useState('requests');
  const [hover, setHover] = useState(null);
  const [geo, error] = useLoad(() => api('GET', `/v1/metrics/geo${query({ since: period })}`), [period], MAP_REFRESH_MS);
  const countries = (geo && Array.isArray(geo.countries) && geo.countries) || [];
  const networks = (geo && Array.isArray(geo.networks) && geo.networks) || [];
  const byCode = useMemo(() => new Map(countries.map((c) => [String(c.country).toUpperCase(), c])), [geo]);
  const unknown = byCode.get('??');
  return html`
    <section class="threat-map">
      <h2>Threat map
        <${PeriodPicker} page="map" value=${period} onChange=${setPeriod} />
        <div class="segmented" role="group" aria-label="Shade by">
          ${Object.entries(MODES).map(([k, m]) => html`
            <button type="button" key=${k} class=${k === mode ? 'on' : ''} aria-pressed=${k === mode ? 'true' : 'false'}
              onClick=${() => setMode(k)}>${m.label}</button>`)}
        </div>
      </h2>
      ${error && html`<p class="error" role="alert">The map's data could not be loaded: ${error}</p>`}
      <div class="map-layout">
        <div>
          <p class="hover muted">${hover || 'Point at a country for its figures.'}</p>
          <${WorldMap} mode=${mode} byCode=${byCode} onHover=${setHover} loaded=${!!geo} />
          ${unknown && html`
            <p class="muted">From addresses without a known country:
              ${' '}${plural(unknown.requests, 'requests')}, ${plural(unknown.alerts, 'alerts')}.</p>`}
        </div>
        <div class="panel">
          <h3>Top countries <span class="note">by ${MODES[mode].unit}</span></h3>
          ${geo ? html`<${Countries} mode=${mode} countries=${countries} />` : html`<p class="muted">${error ? 'No figures.' : 'Loading…'}</p>`}
        </div>
      </div>
      <section class="panel wide">
        <h3>Top attacking networks <span class="note">by alerts, then requests</span></h3>
        ${geo ? html`<${Networks} networks=${networks} />` : html`<p class="muted">${error ? 'No figures.' : 'Loading…'}</p>`}
      </section>
    </section>`;
}
