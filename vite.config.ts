import { cpSync, createReadStream, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig, type Plugin } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

const root = dirname(fileURLToPath(import.meta.url));
/**
 * The ONNX bundles served at /models/ (not under public/): the repository's models/ folder, or another
 * folder given as MODELS_DIR (the end-to-end tests serve tests/fixtures, whose index.json lists the
 * tiny test bundles).
 */
const MODELS_DIR = resolve(root, process.env.MODELS_DIR ?? 'models');
/** onnxruntime-web's wasm runtime, served from our own origin at /ort/ (never a CDN). */
const ORT_DIST = resolve(root, 'node_modules/onnxruntime-web/dist');
const isOrtRuntimeFile = (name: string): boolean => /^ort-wasm-simd-threaded.*\.(wasm|mjs)$/.test(name);

const PREVIEW_PORT = 4173;
const DEV_PORT = 5173;

/** Needed for window.crossOriginIsolated, hence SharedArrayBuffer and multithreaded WASM. */
const isolationHeaders: Record<string, string> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

const contentTypes: Record<string, string> = {
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.mjs': 'text/javascript; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.png': 'image/png',
};

type Next = (err?: unknown) => void;
type Middleware = (req: IncomingMessage, res: ServerResponse, next: Next) => void;

/** Serves files of `dir` under `prefix`; a missing file is a plain 404 (never the SPA's index.html). */
function serveDir(prefix: string, dir: string, allow: (name: string) => boolean = () => true): Middleware {
  return (req, res, next) => {
    const url = (req.url ?? '').split('?')[0] ?? '';
    if (!url.startsWith(prefix)) return next();
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    let rel: string;
    try {
      rel = decodeURIComponent(url.slice(prefix.length));
    } catch {
      rel = '';
    }
    const file = resolve(dir, rel);
    const inside = file.startsWith(dir + sep);
    const ok = inside && allow(rel) && existsSync(file) && statSync(file).isFile();
    for (const [k, v] of Object.entries(isolationHeaders)) res.setHeader(k, v);
    res.setHeader('Cache-Control', 'no-cache');
    if (!ok) {
      res.statusCode = 404;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end(`Not found: ${url}\n`);
      return;
    }
    res.statusCode = 200;
    res.setHeader('Content-Type', contentTypes[extname(file)] ?? 'application/octet-stream');
    res.setHeader('Content-Length', String(statSync(file).size));
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(file).on('error', next).pipe(res);
  };
}

/** /models/ and /ort/ in dev and preview; copies of both into dist/ at build. */
function localAssets(): Plugin {
  let outDir = resolve(root, 'dist');
  const mount = (use: (fn: Middleware) => void): void => {
    use(serveDir('/models/', MODELS_DIR));
    use(serveDir('/ort/', ORT_DIST, isOrtRuntimeFile));
  };
  return {
    name: 'imagine-flash-local-assets',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    configureServer(server) {
      mount((fn) => server.middlewares.use(fn));
    },
    configurePreviewServer(server) {
      mount((fn) => server.middlewares.use(fn));
    },
    writeBundle() {
      mkdirSync(join(outDir, 'ort'), { recursive: true });
      for (const name of readdirSync(ORT_DIST).filter(isOrtRuntimeFile)) {
        cpSync(join(ORT_DIST, name), join(outDir, 'ort', name));
      }
      if (existsSync(MODELS_DIR)) cpSync(MODELS_DIR, join(outDir, 'models'), { recursive: true });
    },
  };
}

/**
 * Installable, and offline after the first visit: a web app manifest, and a Workbox service worker
 * (src/sw.ts) that precaches what this list globs from the build. A new version takes over once every tab
 * of the old one is closed (no skipWaiting/clientsClaim): a page never changes service worker mid-session.
 */
const pwa = VitePWA({
  strategies: 'injectManifest',
  srcDir: 'src',
  filename: 'sw.ts',
  injectRegister: false, // src/main.tsx registers it
  includeManifestIcons: false, // globbed below
  manifest: {
    name: 'Imagine Flash',
    short_name: 'Imagine Flash',
    description: 'Text to image in 1–3 steps, in your browser.',
    theme_color: '#4f46e5',
    background_color: '#f6f7fb',
    display: 'standalone',
    icons: [
      { src: 'icon-192.png', sizes: '192x192', type: 'image/png' },
      { src: 'icon-512.png', sizes: '512x512', type: 'image/png' },
      { src: 'icon.svg', sizes: 'any', type: 'image/svg+xml' },
    ],
  },
  injectManifest: {
    // The ORT runtime too: the worker loads it before any service worker controls the first visit, so a
    // runtime cache would miss it. Of /models/, only the unhashed lists (the weights are the app's to cache).
    globPatterns: ['index.html', 'assets/*.{js,css}', '*.{svg,png}', 'ort/*.{wasm,mjs}', 'models/index.json', 'models/*/manifest.json'],
    // the jsep (WebGPU) wasm is 21 MB
    maximumFileSizeToCacheInBytes: 64 * 1024 * 1024,
  },
});

export default defineConfig({
  plugins: [react(), localAssets(), pwa],
  server: { port: DEV_PORT, strictPort: true, headers: isolationHeaders },
  preview: { port: PREVIEW_PORT, strictPort: true, headers: isolationHeaders },
  // onnxruntime-web's "extern wasm" builds: no wasm URL baked into the bundle (no 21 MB duplicate under
  // assets/); the runtime comes from env.wasm.wasmPaths = '/ort/' (src/pipeline/ortEnv.ts).
  resolve: { conditions: ['onnxruntime-web-use-extern-wasm', ...defaultClientConditions] },
  worker: { format: 'es' },
  // onnxruntime-web locates its wasm via import.meta.url; pre-bundling breaks that. We set wasmPaths.
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  build: { target: 'es2022', chunkSizeWarningLimit: 2048 },
});
