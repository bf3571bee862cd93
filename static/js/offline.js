// Keep the editor page and its modules in the browser cache, so a reload
// without network still opens the map (the service worker serves them).
const CACHE_NAME = 'roadmap-v1';

export function keepForOffline() {
  if (!('serviceWorker' in navigator) || !window.caches) return;
  navigator.serviceWorker.register('/sw.js').catch(() => {});
  const assets = [
    location.pathname,
    ...[...document.querySelectorAll('link[rel=stylesheet]')].map((link) => link.href),
    ...performance.getEntriesByType('resource')
      .map((entry) => entry.name)
      .filter((url) => new URL(url).origin === location.origin && /\/(static|vendor)\//.test(url)),
  ];
  caches.open(CACHE_NAME).then((cache) => cache.addAll([...new Set(assets)])).catch(() => {});
}
