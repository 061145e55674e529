// A tiny promise wrapper over one IndexedDB object store (key -> value), so the app keeps
// API answers, the last districts viewed and the language across visits and offline.
// Hand-written: it is 30 lines, less than any library's glue.
const DB = 'hisaab';
const STORE = 'kv';
let opening = null;

function open() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const r = indexedDB.open(DB, 1);
      r.onupgradeneeded = () => r.result.createObjectStore(STORE);
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
  }
  return opening;
}

function run(mode, fn) {
  return open().then((db) => new Promise((resolve, reject) => {
    const t = db.transaction(STORE, mode);
    const req = fn(t.objectStore(STORE));
    t.oncomplete = () => resolve(req.result);
    t.onerror = t.onabort = () => reject(t.error);
  }));
}

export const get = (key) => run('readonly', (s) => s.get(key)).catch(() => undefined);
export const set = (key, value) => run('readwrite', (s) => s.put(value, key)).catch(() => {});
