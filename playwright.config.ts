import { defineConfig } from '@playwright/test';

// Debian's chromium (never `npx playwright install`); @playwright/test 1.64.1 is built for Chromium 156,
// the version Debian ships. Override the binary with CHROMIUM_PATH if needed.
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const port = Number(process.env.PREVIEW_PORT ?? 4173);
const baseURL = `http://127.0.0.1:${port}`;

const baseArgs = [
  '--no-sandbox',
  '--headless',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export default defineConfig({
  testDir: 'tests/e2e',
  workers: 1,
  retries: 0,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  reporter: 'list',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  use: { baseURL, trace: 'off', screenshot: 'off', video: 'off', actionTimeout: 15_000 },
  projects: [
    {
      // Plain headless chromium: no WebGPU adapter, so the app must pick WASM.
      name: 'chromium',
      grepInvert: /@webgpu/,
      use: { browserName: 'chromium', launchOptions: { executablePath, args: baseArgs } },
    },
    {
      // SwiftShader WebGPU (a fallback adapter, slow, no shader-f16): only tests tagged @webgpu run here.
      name: 'chromium-webgpu',
      grep: /@webgpu/,
      use: {
        browserName: 'chromium',
        launchOptions: { executablePath, args: [...baseArgs, '--enable-unsafe-webgpu'] },
      },
    },
  ],
  webServer: {
    // Build + preview is the most stable server for tests (no on-demand transforms). /models/ serves the
    // test fixtures (tiny random bundles), not the shipped models/, unless MODELS_DIR says otherwise.
    command: `npm run build && npm run preview -- --host 127.0.0.1 --port ${port} --strictPort`,
    env: { MODELS_DIR: process.env.MODELS_DIR ?? 'tests/fixtures' },
    url: baseURL,
    reuseExistingServer: !process.env.CI,
    timeout: 180_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
});
