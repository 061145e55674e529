// Hisaab's web app: search, a district's screen, the language switch, "use my location",
// the last districts viewed, the voice summary, and offline use (API answers kept in
// IndexedDB and shown at once, refreshed in the background; the shell precached by
// /sw.js). No framework: the DOM, fetch and one module per concern.
import * as store from './store.js';
import { indian, whole, pct, compare, MARK } from './fmt.js';
import { barChart } from './chart.js';

const $ = (id) => document.getElementById(id);
const RECENT_MAX = 6;
let TEXT = null;
let lang = 'en';
let current = null; // {id} of the district on screen

function t(key) {
  return (TEXT && TEXT[lang] && TEXT[lang][key]) || key;
}

function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const k in attrs || {}) {
    if (k === 'text') e.textContent = attrs[k];
    else e.setAttribute(k, attrs[k]);
  }
  for (const c of kids) if (c) e.append(c);
  return e;
}

// Stale-while-revalidate over IndexedDB: show(data, how) runs with the saved answer at
// once (how.saved) and again with the network's (how.fresh), or with how.offline when the
// network fails. The saved answer's ETag makes the refresh a 304 when nothing changed.
async function swr(url, show) {
  const key = 'api:' + url;
  const saved = await store.get(key);
  if (saved) show(saved.data, { saved: true, at: saved.at });
  if (navigator.onLine === false) {
    show(saved ? saved.data : null, { offline: true, at: saved && saved.at });
    return;
  }
  try {
    const r = await fetch(url, { headers: saved && saved.etag ? { 'If-None-Match': saved.etag } : {} });
    if (r.status === 304 && saved) {
      saved.at = Date.now();
      await store.set(key, saved);
      show(saved.data, { fresh: true, at: saved.at });
      return;
    }
    if (!r.ok) {
      show(null, { status: r.status });
      return;
    }
    const j = await r.json();
    await store.set(key, { data: j.data, etag: r.headers.get('ETag'), at: Date.now() });
    show(j.data, { fresh: true, at: Date.now() });
  } catch (e) {
    show(saved ? saved.data : null, { offline: true, at: saved && saved.at });
  }
}

function nameOf(d) {
  return (lang === 'hi' ? d.name_hi : d.name_en) || d.name_en || d.name;
}

function stateOf(d) {
  return (lang === 'hi' ? d.state_hi : d.state_en) || d.state_en || '';
}

function fill(s, k, v) {
  return s.replace('{' + k + '}', v);
}

// ---- the start screen ----------------------------------------------------------------

function districtLink(d) {
  const li = h('li');
  if (d.id && d.has_data !== false) {
    const a = h('a', { href: '#/d/' + d.id }, h('span', { text: nameOf(d) }),
      h('span', { class: 'where', text: stateOf(d) }));
    li.append(a);
  } else {
    li.append(h('span', { class: 'nolink' }, h('span', { text: nameOf(d) }),
      h('span', { class: 'where', text: stateOf(d) }), h('span', { class: 'nodata', text: t('no_data') })));
  }
  return li;
}

let lastResults = null;

function showResults(list) {
  lastResults = list;
  const ul = $('results');
  ul.replaceChildren(...(list || []).map(districtLink));
  const msg = $('search-msg');
  msg.hidden = !list || list.length > 0;
  msg.textContent = t('no_results');
}

async function search(q) {
  q = q.trim();
  if (!q) return;
  try {
    const r = await fetch('/api/v1/districts?q=' + encodeURIComponent(q));
    if (!r.ok) throw new Error(String(r.status));
    showResults((await r.json()).data);
  } catch (e) {
    const msg = $('search-msg');
    msg.hidden = false;
    msg.textContent = navigator.onLine === false ? fill(t('offline'), 'date', '') : t('busy');
  }
}

async function showRecent() {
  const list = (await store.get('recent')) || [];
  $('recent-h').hidden = list.length === 0;
  $('recent').replaceChildren(...list.map(districtLink));
}

async function remember(d) {
  const list = ((await store.get('recent')) || []).filter((x) => x.id !== d.id);
  list.unshift({ id: d.id, name_en: d.name_en, name_hi: d.name_hi, state_en: d.state_en, state_hi: d.state_hi });
  await store.set('recent', list.slice(0, RECENT_MAX));
}

// Geolocation -> nearby. The position is rounded to 2 decimals (about 1 km, as the API
// rounds it) before it leaves the phone, and is never stored.
function locate() {
  const msg = $('geo-msg');
  msg.hidden = false;
  msg.textContent = t('locating');
  navigator.geolocation.getCurrentPosition(async (pos) => {
    const lat = pos.coords.latitude.toFixed(2);
    const lon = pos.coords.longitude.toFixed(2);
    try {
      const r = await fetch(`/api/v1/districts/nearby?lat=${lat}&lon=${lon}`);
      if (!r.ok) throw new Error(String(r.status));
      const d = (await r.json()).data;
      const go = d.has_data ? d.district : d.nearest_with_data && d.nearest_with_data.district;
      if (!go) throw new Error('none');
      msg.hidden = true;
      location.hash = '#/d/' + go.id;
    } catch (e) {
      msg.textContent = t('geo_failed');
    }
  }, () => { msg.textContent = t('geo_failed'); }, { timeout: 15000, maximumAge: 600000 });
}

// ---- a district's screen -------------------------------------------------------------

function fact(key, icon, value, trend, days) {
  const cmp = compare(trend);
  const li = h('li', { class: 'fact ' + (cmp || ''), 'data-k': key },
    h('span', { class: 'icon', 'aria-hidden': 'true', text: icon }),
    h('span', { class: 'value', text: value }), ' ',
    h('span', { class: 'what', text: t(key) }));
  if (days !== undefined) {
    const NS = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('class', 'days');
    svg.setAttribute('viewBox', '0 0 100 10');
    svg.setAttribute('preserveAspectRatio', 'none');
    svg.setAttribute('aria-hidden', 'true');
    for (const [cls, w] of [['track', 100], ['fill', Math.min(100, Math.max(0, Math.round(days)))]]) {
      const r = document.createElementNS(NS, 'rect');
      r.setAttribute('class', cls);
      r.setAttribute('width', w);
      r.setAttribute('height', 10);
      svg.append(r);
    }
    li.append(svg);
  }
  if (cmp) li.append(h('span', { class: 'cmp', text: MARK[cmp] + ' ' + t(cmp) }));
  return li;
}

function monthName(ym, long) {
  const m = Number(ym.slice(5, 7));
  return (long ? t('months_long') : t('months'))[m - 1] + ' ' + ym.slice(0, 4);
}

function savedOn(at) {
  const d = new Date(at || Date.now());
  return `${d.getDate()} ${t('months_long')[d.getMonth()]} ${d.getFullYear()}`;
}

const screen = { summary: null, history: null, voice: null, how: null };

function renderDistrict() {
  const s = screen.summary;
  const sec = $('district');
  if (!s) return;
  const m = s.metrics || {};
  const tr = s.trend || {};
  const facts = h('ul', { class: 'facts' });
  if (m.households_worked != null) facts.append(fact('families', '👪', indian(m.households_worked)));
  if (m.avg_days_per_household != null)
    facts.append(fact('days', '📅', whole(m.avg_days_per_household), tr.avg_days_per_household, m.avg_days_per_household));
  if (m.avg_wage_rate != null) facts.append(fact('wage', '💰', '₹' + whole(m.avg_wage_rate), tr.avg_wage_rate));
  if (m.payments_within_15_days_pct != null)
    facts.append(fact('ontime', '⏱', pct(m.payments_within_15_days_pct), tr.payments_within_15_days_pct));
  const kids = [
    h('h1', { id: 'name', text: nameOf(s.district) }),
    h('p', { class: 'where', text: stateOf(s.district) }),
    h('p', { class: 'month', id: 'month', text: fill(t('month'), 'month', monthName(s.month, true)) }),
  ];
  if (screen.how && screen.how.offline)
    kids.push(h('p', { class: 'notice', id: 'offline', role: 'status', text: fill(t('offline'), 'date', savedOn(screen.how.at)) }));
  if (s.stale) kids.push(h('p', { class: 'notice', id: 'stale', role: 'status', text: t('stale') }));
  if (screen.voice) kids.push(playButton());
  kids.push(facts);
  if (s.state && s.state.avg_days_per_household != null)
    kids.push(h('p', { class: 'state', text: fill(t('state_days'), 'n', whole(s.state.avg_days_per_household)) }));
  if (screen.history && screen.history.months && screen.history.months.length) {
    const months = screen.history.months.map((x) => ({ month: x.month, value: (x.increments || {}).persondays }));
    kids.push(h('h2', { text: t('history') }),
      h('figure', { class: 'chart', id: 'chart' }, barChart(months, t('months'), t('history'))));
  }
  kids.push(h('p', {}, h('a', { href: '#/', class: 'button', id: 'back', text: t('back') })));
  sec.replaceChildren(...kids);
}

let audio = null;

function playButton() {
  const playing = audio && !audio.paused;
  const b = h('button', { type: 'button', class: 'play', id: 'play' },
    h('span', { 'aria-hidden': 'true', text: playing ? '⏹' : '🔊' }), h('span', { text: playing ? t('pause') : t('play') }));
  b.addEventListener('click', () => {
    if (audio && !audio.paused) {
      audio.pause();
      renderDistrict();
      return;
    }
    // The IVR's own recording; the path only, so it always comes from this origin.
    const src = new URL(screen.voice.audio_url, location.href).pathname;
    if (!audio) audio = new Audio();
    audio.src = src;
    audio.onended = audio.onpause = () => renderDistrict();
    audio.play().then(renderDistrict, () => {});
  });
  return b;
}

function showDistrict(id) {
  current = { id };
  screen.summary = screen.history = screen.voice = screen.how = null;
  if (audio) audio.pause();
  $('start').hidden = true;
  const sec = $('district');
  sec.hidden = false;
  sec.replaceChildren(h('p', { text: '…' }));
  swr(`/api/v1/districts/${id}/summary`, (data, how) => {
    if (!current || current.id !== id) return;
    if (!data) {
      if (!screen.summary)
        sec.replaceChildren(h('h1', { text: how.status === 404 ? t('unknown') : how.offline ? fill(t('offline'), 'date', '') : t('busy') }),
          h('p', {}, h('a', { href: '#/', class: 'button', text: t('back') })));
      return;
    }
    screen.summary = data;
    screen.how = how;
    document.title = nameOf(data.district) + ' · ' + t('app');
    if (how.fresh) remember(data.district);
    renderDistrict();
  });
  swr(`/api/v1/districts/${id}/history?months=12`, (data) => {
    if (!current || current.id !== id || !data) return;
    screen.history = data;
    renderDistrict();
  });
  loadVoice(id);
}

// The play button appears only once the spoken summary exists (and the network is there
// to play it): a district whose name has not been recorded gets no button, not a broken one.
async function loadVoice(id) {
  if (navigator.onLine === false) return;
  try {
    const r = await fetch(`/api/v1/districts/${id}/voice?lang=${lang}`);
    if (!r.ok) return;
    const v = (await r.json()).data;
    if (current && current.id === id && v && v.audio_url) {
      screen.voice = v;
      renderDistrict();
    }
  } catch (e) {
    /* offline: no button */
  }
}

// ---- language, routing, start ----------------------------------------------------------

function applyLang() {
  document.documentElement.lang = lang;
  document.title = t('title');
  for (const e of document.querySelectorAll('[data-t]')) e.textContent = t(e.dataset.t);
  const b = $('lang');
  b.textContent = t('lang_switch');
  b.setAttribute('lang', lang === 'hi' ? 'en' : 'hi');
  b.hidden = false;
}

async function setLang(l) {
  lang = l;
  await store.set('lang', l);
  applyLang();
  if (current) {
    if (audio) audio.pause();
    screen.voice = null;
    renderDistrict();
    loadVoice(current.id);
  } else {
    if (lastResults) showResults(lastResults);
    showRecent();
  }
}

function route() {
  const m = /^#\/d\/(\d{1,9})$/.exec(location.hash);
  if (m) {
    showDistrict(Number(m[1]));
    return;
  }
  current = null;
  if (audio) audio.pause();
  $('district').hidden = true;
  $('start').hidden = false;
  document.title = t('title');
  showRecent();
}

async function start() {
  const [text, saved] = await Promise.all([
    fetch(new URL('text.json', import.meta.url)).then((r) => r.json()).catch(() => null),
    store.get('lang'),
  ]);
  TEXT = text;
  lang = saved || ((navigator.language || '').startsWith('hi') ? 'hi' : 'en');
  applyLang();
  $('lang').addEventListener('click', () => setLang(lang === 'hi' ? 'en' : 'hi'));
  $('search').addEventListener('submit', (e) => {
    e.preventDefault();
    search($('q').value);
  });
  if ('geolocation' in navigator) {
    $('locate').hidden = false;
    $('locate').addEventListener('click', locate);
  }
  window.addEventListener('hashchange', route);
  route();
  if ('serviceWorker' in navigator) {
    // A new release's worker takes over at once (sw.js skips waiting); reload once onto
    // its shell so nobody stays on an old one.
    const had = !!navigator.serviceWorker.controller;
    navigator.serviceWorker.addEventListener('controllerchange', () => {
      if (had) location.reload();
    });
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((e) => console.warn('service worker: ' + e.message));
  }
}

start();
