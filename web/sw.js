// Plugboard's service worker: after one visit the app loads with the
// server gone. Its scope is the folder it is served from, so the same
// dist/ works at the root and under any sub-path.
//
// What it keeps: the page and every asset the page names (href/src), read
// from the page's HTML at install and again on each visit while online.
// Pages go to the network first (a new build shows at once) and fall back
// to the copy; assets carry a content hash in their names, so a kept copy
// is always right and is served first. Copies the page no longer names are
// deleted. Only same-origin GETs are touched; the broker's WebSocket never
// passes through here.
"use strict";

const CACHE = "plugboard";
const PAGE = new URL("./", self.registration.scope).href;
const HASHED = /-[0-9a-f]{8,}(?:_bg)?\.[a-z]+$/;

function assetsOf(html) {
  const urls = new Set();
  for (const match of html.matchAll(/\b(?:href|src|data-js|data-wasm)="([^"]+)"/g)) {
    const url = new URL(match[1], PAGE);
    if (url.origin === self.location.origin && url.protocol.startsWith("http")) {
      url.hash = "";
      urls.add(url.href);
    }
  }
  urls.add(new URL("manifest.webmanifest", PAGE).href);
  urls.add(new URL("icon.svg", PAGE).href);
  return [...urls];
}

// Fetches the page, keeps it and everything it names; drops the rest.
async function keepPage(response) {
  const cache = await caches.open(CACHE);
  const html = await response.clone().text();
  const assets = assetsOf(html);
  const kept = new Set([PAGE, ...assets]);
  await cache.put(PAGE, response);
  await Promise.all(
    assets.map(async (url) => {
      // Names with a content hash never change; the others are re-read.
      if (!HASHED.test(url) || !(await cache.match(url))) {
        const asset = await fetch(url, { cache: "no-cache" });
        if (asset.ok) await cache.put(url, asset);
      }
    }),
  );
  for (const request of await cache.keys()) {
    if (!kept.has(request.url)) await cache.delete(request);
  }
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    fetch(PAGE, { cache: "no-cache" })
      .then((response) => {
        if (!response.ok) throw new Error(`the page answered ${response.status}`);
        return keepPage(response);
      })
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(page(event, request));
  } else {
    event.respondWith(asset(request));
  }
});

async function page(event, request) {
  try {
    const response = await fetch(request);
    const here = new URL(request.url);
    here.search = "";
    here.hash = "";
    if (response.ok && (here.href === PAGE || here.href === PAGE + "index.html")) {
      event.waitUntil(keepPage(response.clone()).catch(() => {}));
    }
    return response;
  } catch (offline) {
    const kept = await caches.match(PAGE);
    if (kept) return kept;
    throw offline;
  }
}

async function asset(request) {
  const kept = await caches.match(request, { ignoreSearch: true });
  if (kept) return kept;
  return fetch(request);
}
