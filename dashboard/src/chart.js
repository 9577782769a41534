// A time-series chart: uPlot on a canvas, made when the component mounts, given new data as
// it comes, resized with its container and destroyed on unmount. uPlot sizes its elements
// through the CSSOM (element.style), which the page's Content-Security-Policy allows; its
// stylesheet is bundled into app.css. Times are shown in UTC, like the rest of the dashboard.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { html } from './format.js';

/** The dark theme's colours, for what is drawn on the canvas (CSS variables do not reach it). */
export const COLORS = {
  text: '#8a94a6',
  line: '#2a3340',
  accent: '#5fb3f9',
  critical: '#ff5c5c',
  high: '#ff9f43',
  medium: '#f6d365',
  low: '#7bd88f',
};

const axis = (extra) => ({
  stroke: COLORS.text,
  grid: { stroke: COLORS.line, width: 1 },
  ticks: { stroke: COLORS.line, width: 1 },
  font: '11px system-ui, sans-serif',
  ...extra,
});

/** Indices of the values with no value on either side, or null when there is none. */
function isolated(ys) {
  const idxs = [];
  for (let i = 0; i < ys.length; i += 1) {
    if (ys[i] != null && (i === 0 || ys[i - 1] == null) && (i === ys.length - 1 || ys[i + 1] == null)) idxs.push(i);
  }
  return idxs.length ? idxs : null;
}

const utc = (seconds) => uPlot.tzDate(new Date(seconds * 1000), 'Etc/UTC');
const hourMinute = uPlot.fmtDate('{HH}:{mm}');
const day = uPlot.fmtDate('{YYYY}-{MM}-{DD}');
const stamp = uPlot.fmtDate('{YYYY}-{MM}-{DD} {HH}:{mm}');

/**
 * `series`: [{ label, color, fill? }]; `data`: [xs (seconds), ...one array per series, null
 * for a gap]; `range`: [min, max] of the x axis in seconds (the period asked for);
 * `format`: a value as text, for the axis and the legend.
 */
export function Chart({ series, data, range, format = String, height = 160 }) {
  const box = useRef(null);
  const plot = useRef(null);
  // The scales read these when they are redrawn, so a new period needs no new chart.
  const current = useRef({ range, format });
  current.current = { range, format };
  const shape = series.map((s) => `${s.label}:${s.color}`).join('|');

  useEffect(() => {
    const el = box.current;
    const width = () => Math.max(el.clientWidth, 160);
    const show = (v) => (v == null ? '–' : current.current.format(v));
    const opts = {
      width: width(),
      height,
      tzDate: utc,
      scales: {
        x: { time: true, range: (u, min, max) => current.current.range || [min, max] },
        y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] },
      },
      axes: [
        // 24-hour clock times, with the date where a day starts.
        axis({ values: (u, ticks) => ticks.map((t) => hourMinute(utc(t)) + (t % 86400 === 0 ? `\n${day(utc(t))}` : '')) }),
        axis({ size: 56, values: (u, ticks) => ticks.map(show) }),
      ],
      series: [
        { value: (u, v) => (v == null ? '–' : stamp(utc(v))) },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          fill: s.fill,
          width: 1.5,
          // A value between gaps draws no line: show it as a dot (uPlot shows every dot
          // on its own when they are far enough apart).
          points: { size: 5, filter: (u, i, shown) => (shown ? null : isolated(u.data[i])) },
          value: (u, v) => show(v),
        })),
      ],
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
    };
    const u = new uPlot(opts, data, el);
    plot.current = u;
    const resized = new ResizeObserver(() => {
      if (u.width !== width()) u.setSize({ width: width(), height });
    });
    resized.observe(el);
    return () => {
      resized.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [shape, height]);

  useEffect(() => {
    if (plot.current) plot.current.setData(data);
  }, [data]);

  return html`<div class="chart" ref=${box}></div>`;
}
