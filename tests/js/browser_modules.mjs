// Module hooks that let Node import the browser's modules as the browser does: as ES
// modules, with libraries from /vendor/<package>.mjs, the URL the server serves each
// package at (roadmap/views/main.py, VENDOR_FILES), taken from node_modules instead.
const PROJECT_ROOT = new URL('../../', import.meta.url);
const BROWSER_MODULES = new URL('static/js/', PROJECT_ROOT).href;

export async function resolve(specifier, context, nextResolve) {
  const vendored = /^\/vendor\/(.+)\.mjs$/.exec(specifier);
  const resolved = vendored
    ? await nextResolve(vendored[1], { ...context, parentURL: new URL('package.json', PROJECT_ROOT).href })
    : await nextResolve(specifier, context);
  return resolved.url.startsWith(BROWSER_MODULES) ? { ...resolved, format: 'module' } : resolved;
}
