// The 12-month history as an inline SVG bar chart: one bar per month of the work given
// in that month (the API's monthly increments of person-days), no library.
import { indian } from './fmt.js';

const NS = 'http://www.w3.org/2000/svg';

function el(name, attrs, text) {
  const e = document.createElementNS(NS, name);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}

// months: [{month: "2024-04", value}], names: short month names (12).
export function barChart(months, names, label) {
  const w = 320, h = 170, top = 18, bottom = 22, gap = 4;
  const max = Math.max(1, ...months.map((m) => m.value || 0));
  const bw = (w - gap * (months.length + 1)) / Math.max(1, months.length);
  const svg = el('svg', { viewBox: `0 0 ${w} ${h}`, role: 'img', 'aria-label': label });
  months.forEach((m, i) => {
    const v = m.value || 0;
    const bh = Math.round(((h - top - bottom) * v) / max);
    const x = gap + i * (bw + gap);
    const y = h - bottom - bh;
    const r = el('rect', { class: 'bar', x: x.toFixed(1), y, width: bw.toFixed(1), height: bh });
    r.appendChild(el('title', {}, `${names[Number(m.month.slice(5)) - 1]}: ${indian(v)}`));
    svg.appendChild(r);
    svg.appendChild(el('text', { x: (x + bw / 2).toFixed(1), y: h - 6, 'text-anchor': 'middle' },
      names[Number(m.month.slice(5)) - 1]));
  });
  svg.appendChild(el('text', { x: 2, y: 12 }, indian(max)));
  return svg;
}
