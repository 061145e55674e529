// Hisaab's service worker, hand-written: it precaches the app's shell of this build (the
// server writes the build's fingerprint where @BUILD@ stands, so every release changes
// these bytes and the browser installs the new worker), serves the shell and the app's
// files from that cache, and drops older builds' caches when it takes over. API answers
// are not cached here: the app keeps them in IndexedDB (stale-while-revalidate).
const BUILD = '@BUILD@';
const CACHE = 'hisaab-shell-' + BUILD;
const APP = '/app/' + BUILD + '/';
const SHELL = ['/', '/manifest.webmanifest'].concat(
  ['main.js', 'store.js', 'fmt.js', 'chart.js', 'style.css', 'text.json',
   'icons/icon.svg', 'icons/icon-192.png', 'icons/icon-512.png'].map((f) => APP + f));

self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (e) => {
  e.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith('hisaab-shell-') && k !== CACHE)
      .map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (e) => {
  const req = e.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== location.origin) return;
  if (req.mode === 'navigate' && url.pathname === '/') {
    // The shell: this build's copy, from the network only when it is missing.
    e.respondWith(caches.match('/', { cacheName: CACHE }).then((r) => r || fetch(req)));
    return;
  }
  if (url.pathname.startsWith(APP) || url.pathname === '/manifest.webmanifest') {
    e.respondWith(caches.match(req, { cacheName: CACHE, ignoreSearch: true }).then((r) => r || fetch(req)));
  }
});
