/**
 * The service worker (built by vite-plugin-pwa's injectManifest; the precache list is in vite.config.ts).
 * The app shell and the ORT runtime are precached at install, so the first visit — which no service worker
 * controls yet — already leaves everything the next, offline one needs. Model weights are not the service
 * worker's: the app verifies them by sha256 and keeps them in its own Cache Storage (src/pipeline/files.ts).
 * Responses keep the server's COOP/COEP headers, so an offline page is still cross-origin isolated.
 */
import { cleanupOutdatedCaches, createHandlerBoundToURL, matchPrecache, precacheAndRoute, type PrecacheEntry } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';
import { NetworkFirst } from 'workbox-strategies';

declare const self: { __WB_MANIFEST: (string | PrecacheEntry)[] };

/** The unhashed lists the app reads before it knows any hash: /models/index.json and each bundle's manifest. */
const MODEL_LIST = /^\/models\/(?:index|[^/]+\/manifest)\.json$/;

// Registered before the precache route so that it wins: the lists are fetched fresh whenever the network
// answers (the app asks with no-cache to see an updated bundle), else the copy this route last saw, else the
// one precached with this build. The timeout covers a network that connects but never answers (a captive
// portal, a dead proxy), where waiting for it would leave the page without its model list.
registerRoute(
  ({ url, sameOrigin }) => sameOrigin && MODEL_LIST.test(url.pathname),
  new NetworkFirst({
    cacheName: 'imagine-flash-model-lists',
    networkTimeoutSeconds: 4,
    // the build's copy stands in for a runtime-cache miss, so a timeout on a first offline visit has a list too
    plugins: [
      {
        cachedResponseWillBeUsed: async ({ request, cachedResponse }) => cachedResponse ?? (await matchPrecache(new URL(request.url).pathname)) ?? null,
        handlerDidError: async ({ request }) => matchPrecache(new URL(request.url).pathname),
      },
    ],
  }),
);

precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();
// Any app URL (?prompt=… links included) opens the precached shell; /models/ and /ort/ are files, never pages.
registerRoute(new NavigationRoute(createHandlerBoundToURL('index.html'), { denylist: [/^\/models\//, /^\/ort\//] }));
