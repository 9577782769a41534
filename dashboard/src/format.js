// Plain-text formatting shared by the pages. Everything here returns strings, which Preact
// renders as text: events are attacker-controlled and never become HTML.
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import htm from 'htm';

export const html = htm.bind(h);

/** Milliseconds since the epoch as `YYYY-MM-DD hh:mm:ss` (UTC), or '' when absent. */
export function time(ms) {
  return Number.isFinite(ms) ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '';
}

/** Actors as `kind:value` joined by commas, from a list of pairs or strings, or an object. */
export function actors(list) {
  if (Array.isArray(list)) {
    return list.map((a) => (Array.isArray(a) ? `${a[0]}:${a[1]}` : String(a))).join(', ');
  }
  if (list && typeof list === 'object') {
    return Object.entries(list).map(([k, v]) => `${k}:${v}`).join(', ');
  }
  return '';
}

/** A severity badge; the class keeps only letters so a value cannot add classes. */
export function Severity({ value }) {
  return html`<span class=${`sev sev-${String(value || '').replace(/[^a-z]/g, '')}`}>${value}</span>`;
}

/**
 * Loads `load()` now and every `refreshMs` (if given) while the page is shown.
 * Returns [data, error, reload].
 */
export function useLoad(load, deps, refreshMs) {
  const [data, setData] = useState(null);
  const [error, setError] = useState('');
  const [round, setRound] = useState(0);
  useEffect(() => {
    let stopped = false;
    const run = () =>
      load().then(
        (d) => !stopped && (setData(d), setError('')),
        (e) => !stopped && setError(e.message),
      );
    run();
    const timer = refreshMs ? setInterval(run, refreshMs) : null;
    return () => {
      stopped = true;
      if (timer) clearInterval(timer);
    };
  }, [...deps, round]);
  return [data, error, () => setRound((r) => r + 1)];
}
