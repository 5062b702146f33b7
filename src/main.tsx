/// <reference types="vite-plugin-pwa/vanillajs" />
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { registerSW } from 'virtual:pwa-register';
import { createIdbHistoryStore } from './state/historyStore';
import { initAppStore } from './state/store';
import { App } from './ui/App';
import { perfLog } from './ui/perfLog';
import { createInferenceClient } from './worker/client';
import './ui/app.css';

const client = createInferenceClient();
const store = initAppStore({
  engine: client,
  setSearch: (search) => window.history.replaceState(null, '', `${window.location.pathname}${search}${window.location.hash}`),
  history: createIdbHistoryStore(),
});

// Diagnostics for tests and bug reports, only with ?debug in the URL.
if (new URLSearchParams(window.location.search).has('debug')) {
  Object.assign(window, { imagineFlashDebug: { loseDevice: () => client.loseDevice(), state: () => store.getState() } });
}

// Read by the benchmark (bench/browser.ts): painted results with their timings.
Object.assign(window, { imagineFlashPerf: perfLog });

// Offline after the first visit (vite.config.ts's VitePWA); a no-op under the dev server.
registerSW({ immediate: true, onRegisterError: (err: unknown) => console.warn('Offline use is unavailable: the service worker did not register.', err) });

const root = document.getElementById('root');
if (!root) throw new Error('#root element missing from index.html');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
