// Figures as every Hisaab channel shows them (src/text/summary.h): families grouped the
// Indian way (12,34,567); days and the wage rounded to whole numbers; the share paid on
// time with one decimal, 100 from 99.95 up. Digits stay Latin in Hindi too, as on job
// cards and passbooks.

export function indian(n) {
  const s = String(Math.round(Math.abs(n)));
  const sign = n < 0 ? '-' : '';
  if (s.length <= 3) return sign + s;
  const last = s.slice(-3);
  const rest = s.slice(0, -3).replace(/\B(?=(\d{2})+(?!\d))/g, ',');
  return sign + rest + ',' + last;
}

export const whole = (v) => String(Math.round(v));

export function pct(v) {
  if (v >= 99.95) return '100%';
  return (Math.round(v * 10) / 10).toFixed(1) + '%';
}

// "up" / "down" / "steady" of the API's trend -> the word's key.
export function compare(trend) {
  if (trend === 'up') return 'better';
  if (trend === 'down') return 'worse';
  if (trend === 'steady') return 'same';
  return null;
}

export const MARK = { better: '▲', worse: '▼', same: '≈' };
