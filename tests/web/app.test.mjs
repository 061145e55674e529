// Browser tests of Hisaab's web app: Debian's chromium driven by playwright-core against a
// running server with the sample data (tests/blackbox/test_web_browser.py starts one).
//
//   node tests/web/app.test.mjs http://127.0.0.1:PORT [ASSETS_DIR RESTART_URL]
//
// Every expected figure and name comes from the server's own API, fetched here, and is
// formatted here independently of the app (Intl's en-IN grouping). Prints one line per
// test, "ok NAME" or "not ok NAME: reason", then "HISAAB-WEB passed=N failed=N".
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BASE = process.argv[2];
const ASSETS = process.argv[3]; // a copy of assets/ the server reads (for the update test)
const RESTART = process.argv[4]; // a file whose creation asks the test's parent to restart
const CHROME = process.env.CHROME_PATH || '/usr/bin/chromium';
const MP_POINT = { latitude: 23.2599, longitude: 77.4126 }; // Bhopal, Madhya Pradesh

const results = [];
const problems = []; // console errors, page errors, CSP violations, failed requests

async function api(path) {
  const r = await fetch(BASE + path);
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return (await r.json()).data;
}

const grouped = (n) => new Intl.NumberFormat('en-IN', { maximumFractionDigits: 0 }).format(n);

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

function eq(a, b, what) {
  if (a !== b) throw new Error(`${what}: got ${JSON.stringify(a)}, want ${JSON.stringify(b)}`);
}

async function test(name, fn) {
  const before = problems.length;
  try {
    await fn();
    if (problems.length > before) throw new Error('browser problems: ' + problems.slice(before).join(' | '));
    results.push([name, null]);
    console.log('ok ' + name);
  } catch (e) {
    results.push([name, e]);
    console.log('not ok ' + name + ': ' + String(e && e.message || e).split('\n')[0]);
  }
}

function watch(page) {
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push('console: ' + m.text());
  });
  page.on('pageerror', (e) => problems.push('pageerror: ' + e.message));
}

async function waitFor(fn, what, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const profile = mkdtempSync(join(tmpdir(), 'hisaab-chromium-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: CHROME,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--autoplay-policy=no-user-gesture-required'],
  viewport: { width: 360, height: 740 },
  locale: 'en-IN',
  geolocation: MP_POINT,
  permissions: ['geolocation'],
  serviceWorkers: 'allow',
});
// CSP violations reach the page as events; count them as problems.
await ctx.addInitScript(() => {
  document.addEventListener('securitypolicyviolation', (e) => {
    console.error('CSP blocked ' + e.blockedURI + ' (' + e.violatedDirective + ')');
  });
});
const page = ctx.pages()[0] || (await ctx.newPage());
watch(page);
const requests = [];
page.on('request', (r) => requests.push(r.url()));
page.on('requestfailed', (r) => {
  // A fetch cut short by leaving the page (ERR_ABORTED) is not a failure.
  const err = (r.failure() || {}).errorText || '';
  if (!r.url().includes('/audio/') && !err.includes('ERR_ABORTED')) problems.push('request failed: ' + r.url() + ' ' + (r.failure() || {}).errorText);
});

const districtText = async () => page.evaluate(() => {
  const out = {};
  for (const li of document.querySelectorAll('#district .fact')) {
    out[li.dataset.k] = {
      value: li.querySelector('.value').textContent,
      cmp: (li.querySelector('.cmp') || {}).textContent || null,
      cls: li.className,
    };
  }
  out.name = (document.querySelector('#district h1') || {}).textContent;
  out.month = (document.querySelector('#month') || {}).textContent;
  return out;
});

async function openDistrict(id) {
  await page.evaluate((i) => { location.hash = '#/d/' + i; }, id);
  await page.waitForSelector('#district .fact', { timeout: 10000 });
}

await test('shell loads in English with a labelled search box', async () => {
  await page.goto(BASE + '/');
  await page.waitForSelector('#lang', { state: 'visible' });
  const label = await page.evaluate(() => {
    const q = document.getElementById('q');
    return { type: q.type, label: q.labels[0] && q.labels[0].textContent };
  });
  eq(label.type, 'search', 'input type');
  check(/district/i.test(label.label), 'label: ' + label.label);
});

const SEARCHES = [
  ['English', 'Niwari'],
  ['romanised Hindi', 'nivadi'],
  ['Devanagari', 'निवाड़ी'],
  ['PIN code', '462001'],
  ['former name', 'Hoshangabad'],
];
for (const [kind, q] of SEARCHES) {
  await test('search finds districts by ' + kind + ' like the API', async () => {
    const want = (await api('/api/v1/districts?q=' + encodeURIComponent(q)))[0];
    check(want, 'the API finds nothing for ' + q);
    await page.goto(BASE + '/');
    await page.fill('#q', q);
    await page.click('#search button');
    await page.waitForSelector('#results li');
    const first = await page.textContent('#results li');
    check(first.includes(want.name_en), `first result "${first}" lacks ${want.name_en}`);
  });
}

let summary;
await test("a district's figures equal the API's", async () => {
  summary = await api('/api/v1/districts/1752/summary');
  const m = summary.metrics;
  await page.goto(BASE + '/');
  await page.fill('#q', 'Niwari');
  await page.click('#search button');
  await page.click('#results a');
  await page.waitForSelector('#district .fact');
  const d = await districtText();
  eq(d.name, summary.district.name_en, 'name');
  eq(d.families.value, grouped(m.households_worked), 'families');
  check(m.households_worked < 1000 || d.families.value.includes(','), 'grouping');
  eq(d.days.value, String(Math.round(m.avg_days_per_household)), 'days');
  eq(d.wage.value, '₹' + Math.round(m.avg_wage_rate), 'wage');
  const p = m.payments_within_15_days_pct;
  eq(d.ontime.value, p >= 99.95 ? '100%' : (Math.round(p * 10) / 10).toFixed(1) + '%', 'on time');
  const [y, mo] = summary.month.split('-');
  const monthName = new Date(Number(y), Number(mo) - 1, 1).toLocaleString('en-GB', { month: 'long' });
  check(d.month.includes(monthName) && d.month.includes(y), 'month: ' + d.month);
  const words = { up: 'better than the state', down: 'worse than the state', steady: 'about the same as the state' };
  eq(d.days.cmp.slice(2), words[summary.trend.avg_days_per_household], 'days compared in words');
  const bar = await page.getAttribute('#district .fact[data-k=days] rect.fill', 'width');
  eq(bar, String(Math.min(100, Math.round(m.avg_days_per_household))), 'bar of 100 days');
  const hist = await api('/api/v1/districts/1752/history?months=12');
  await page.waitForSelector('#chart rect.bar');
  const bars = await page.$$eval('#chart rect.bar', (rs) => rs.map((r) => r.querySelector('title').textContent));
  eq(bars.length, hist.months.length, 'bars in the history chart');
  eq(bars[bars.length - 1].split(': ')[1], grouped(hist.months[hist.months.length - 1].increments.persondays), 'last bar');
});

await test('the language switch turns all text and names into Hindi and back', async () => {
  await page.click('#lang');
  await waitFor(() => page.evaluate(() => document.documentElement.lang === 'hi'), 'Hindi');
  const d = await districtText();
  eq(d.name, summary.district.name_hi, 'Hindi name');
  check(/[\u0900-\u097f]/.test(d.families.cmp || d.days.cmp), 'Hindi comparison');
  check(d.month.includes('के आँकड़े'), 'Hindi month line: ' + d.month);
  eq(d.families.value, grouped(summary.metrics.households_worked), 'same figure in Hindi');
  const what = await page.textContent('#district .fact[data-k=days] .what');
  check(/[\u0900-\u097f]/.test(what), 'Hindi words: ' + what);
  await page.click('#lang');
  await waitFor(() => page.evaluate(() => document.documentElement.lang === 'en'), 'English');
  eq((await districtText()).name, summary.district.name_en, 'back to English');
});

await test('use my location finds the district of a point in Madhya Pradesh', async () => {
  const lat = MP_POINT.latitude.toFixed(2), lon = MP_POINT.longitude.toFixed(2);
  const want = await api(`/api/v1/districts/nearby?lat=${lat}&lon=${lon}`);
  await page.goto(BASE + '/#/');
  const n = requests.length;
  await page.click('#locate');
  await waitFor(() => page.evaluate((id) => location.hash === '#/d/' + id, want.district.id), 'the district');
  await page.waitForSelector('#district .fact');
  eq((await districtText()).name, want.district.name_en, 'district found');
  const sent = requests.slice(n).filter((u) => u.includes('/nearby'));
  eq(sent.length, 1, 'one nearby request');
  check(sent[0].endsWith(`lat=${lat}&lon=${lon}`), 'only a rounded position left the phone: ' + sent[0]);
  const stored = await page.evaluate(() => new Promise((res) => {
    const r = indexedDB.open('hisaab');
    r.onsuccess = () => {
      const t = r.result.transaction('kv').objectStore('kv').getAllKeys();
      t.onsuccess = () => res(t.result.map(String));
    };
  }));
  check(!stored.some((k) => k.includes('nearby') || k.includes('lat')), 'position stored: ' + stored);
});

await test('the play button plays the IVR summary (a recorded WAV)', async () => {
  const voice = await api('/api/v1/districts/1752/voice?lang=en');
  await openDistrict(1752);
  await page.waitForSelector('#play');
  await page.click('#play');
  const played = await waitFor(() => page.evaluate(() => performance.getEntriesByType('resource')
    .filter((e) => e.name.includes('/audio/districts/')).map((e) => e.name)[0] || null), 'audio request');
  eq(new URL(played).pathname, new URL(voice.audio_url, BASE).pathname, 'the summary WAV');
  await page.waitForSelector('#play :text("Stop")', { timeout: 10000 });
});

await test('offline reload shows the districts viewed and their figures', async () => {
  await openDistrict(1728);
  await page.goto(BASE + '/');
  await waitFor(() => page.evaluate(() => navigator.serviceWorker.controller !== null), 'service worker in control', 15000);
  const bhopal = await api('/api/v1/districts/1728/summary');
  await ctx.setOffline(true);
  try {
    await page.reload();
    await page.waitForSelector('#recent li');
    const recent = await page.$$eval('#recent li', (ls) => ls.map((l) => l.textContent));
    check(recent.some((r) => r.includes('Niwari')) && recent.some((r) => r.includes(bhopal.district.name_en)),
      'recent: ' + recent.join(', '));
    await page.click(`#recent a[href="#/d/1728"]`);
    await page.waitForSelector('#district .fact');
    const d = await districtText();
    eq(d.families.value, grouped(bhopal.metrics.households_worked), 'saved figures offline');
    await page.waitForSelector('#offline');
    check(!(await page.$('#play')), 'no play button offline');
  } finally {
    await ctx.setOffline(false);
  }
});

await test('the app is installable (no installability errors)', async () => {
  await page.goto(BASE + '/');
  const cdp = await ctx.newCDPSession(page);
  const r = await cdp.send('Page.getInstallabilityErrors');
  eq(JSON.stringify(r.installabilityErrors), '[]', 'installability errors');
  const m = await cdp.send('Page.getAppManifest');
  check(m.errors.length === 0, 'manifest errors: ' + JSON.stringify(m.errors));
  await cdp.detach();
});

await test('320 px wide with the font size doubled: no sideways scroll, targets >= 48 px', async () => {
  await page.setViewportSize({ width: 320, height: 640 });
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Page.setFontSizes', { fontSizes: { standard: 32 } });
  try {
    for (const where of ['/#/', '/#/d/1752']) {
      await page.goto(BASE + where);
      await page.waitForSelector(where.includes('/d/') ? '#district .fact' : '#q');
      if (!where.includes('/d/')) {
        await page.fill('#q', 'Niwari');
        await page.click('#search button');
        await page.waitForSelector('#results li');
      }
      const r = await page.evaluate(() => {
        const small = [];
        for (const e of document.querySelectorAll('button, input, a')) {
          const b = e.getBoundingClientRect();
          if (b.width === 0 && b.height === 0) continue;
          if (b.height < 48 || b.width < 48) small.push(e.outerHTML.slice(0, 60) + ` ${b.width}x${b.height}`);
        }
        return { wide: document.documentElement.scrollWidth, small };
      });
      check(r.wide <= 320, `${where} is ${r.wide} px wide`);
      eq(r.small.join(' | '), '', where + ' small targets');
    }
  } finally {
    await cdp.send('Page.setFontSizes', { fontSizes: { standard: 16 } });
    await cdp.detach();
    await page.setViewportSize({ width: 360, height: 740 });
  }
});

if (ASSETS && RESTART) {
  await test('a new release replaces the old shell on the next visit', async () => {
    await page.goto(BASE + '/');
    await waitFor(() => page.evaluate(() => navigator.serviceWorker.controller !== null), 'controller', 15000);
    const oldSrc = await page.getAttribute('script[type=module]', 'src');
    const css = join(ASSETS, 'web', 'app', 'style.css');
    writeFileSync(css, readFileSync(css, 'utf8') + '\n/* release ' + Date.now() + ' */\n');
    writeFileSync(RESTART, 'restart');
    await waitFor(async () => {
      try {
        const html = await (await fetch(BASE + '/')).text();
        return !html.includes(oldSrc);
      } catch (e) {
        return false;
      }
    }, 'the server restarted with the new release', 30000);
    await page.reload();
    const newSrc = await waitFor(async () => {
      const s = await page.getAttribute('script[type=module]', 'src').catch(() => null);
      return s && s !== oldSrc ? s : null;
    }, 'the new shell', 20000);
    const keys = await page.evaluate(() => caches.keys());
    const build = newSrc.split('/')[2];
    eq(JSON.stringify(keys), JSON.stringify(['hisaab-shell-' + build]), 'only the new cache is kept');
  });
}

await ctx.close();
rmSync(profile, { recursive: true, force: true });
const failed = results.filter((r) => r[1]).length;
console.log(`HISAAB-WEB passed=${results.length - failed} failed=${failed}`);
process.exit(failed ? 1 : 0);
