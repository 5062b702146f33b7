import { useEffect } from 'react';
import { wasmThreads, type GpuLike } from '../pipeline/backend';
import { appStore, useAppStore } from '../state/store';
import { parseUrlState } from '../state/urlState';
import { ComparePanel } from './ComparePanel';
import { GridPanel } from './GridPanel';
import { HistoryStrip } from './HistoryStrip';
import { ImagePanel } from './ImagePanel';
import { LoadBar } from './LoadBar';
import { ModelPicker } from './ModelPicker';
import { PromptForm } from './PromptForm';
import { SettingsBar } from './SettingsBar';
import { StatusLine } from './StatusLine';

/** navigator.gpu exists only in WebGPU-capable browsers; the DOM lib has no type for it. */
function navigatorGpu(): GpuLike | undefined {
  return (navigator as Navigator & { gpu?: GpuLike }).gpu;
}

let started = false;

/** Once per page (StrictMode runs effects twice): URL state in, kept history, backend guess, model index, first load. */
function start(): void {
  if (started) return;
  started = true;
  const url = parseUrlState(window.location.search);
  const s = appStore.getState();
  s.applyUrlState(url);
  s.setOpenedLink(url);
  if (url.backend) appStore.api.setState({ backendPref: url.backend });
  if (url.live !== undefined) appStore.api.setState({ livePref: url.live });
  void s.loadHistory();
  void s.detectBackend(navigatorGpu(), wasmThreads(window.crossOriginIsolated, navigator.hardwareConcurrency));
  void s.loadModelIndex(window.fetch.bind(window), url.bundle);
}

export function App() {
  useEffect(start, []);
  const view = useAppStore((s) => s.view);
  return (
    <main className="app">
      <header className="topbar">
        <div className="brand">
          <h1>Imagine Flash</h1>
          <p className="tagline">Text to image in 1–3 steps, in your browser.</p>
        </div>
        <StatusLine />
      </header>
      <LoadBar />
      <div className="layout">
        <div className="controls">
          <PromptForm />
          <details className="card settings-card">
            <summary>Model and settings</summary>
            <ModelPicker />
            <SettingsBar />
          </details>
        </div>
        <div className="output">{view === 'compare' ? <ComparePanel /> : view === 'grid' ? <GridPanel /> : <ImagePanel />}</div>
        <HistoryStrip />
      </div>
      <footer className="footer">
        Runs entirely on this device with onnxruntime-web. Distilled with Imagine Flash (Kohler et al., 2024).
      </footer>
    </main>
  );
}
