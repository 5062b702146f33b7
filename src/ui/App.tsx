import { useEffect } from 'react';
import { wasmThreads, type GpuLike } from '../pipeline/backend';
import { appStore } from '../state/store';
import { PromptForm } from './PromptForm';
import { StatusLine } from './StatusLine';

/** navigator.gpu exists only in WebGPU-capable browsers; the DOM lib has no type for it. */
function navigatorGpu(): GpuLike | undefined {
  return (navigator as Navigator & { gpu?: GpuLike }).gpu;
}

export function App() {
  useEffect(() => {
    const { detectBackend, loadModelIndex } = appStore.getState();
    void detectBackend(navigatorGpu(), wasmThreads(window.crossOriginIsolated, navigator.hardwareConcurrency));
    void loadModelIndex(window.fetch.bind(window));
  }, []);

  return (
    <main className="app">
      <header>
        <h1>Imagine Flash</h1>
        <p className="tagline">Text to image in 1–3 steps, in your browser.</p>
      </header>
      <PromptForm />
      <StatusLine />
    </main>
  );
}
