import { useDeferredValue } from 'react';
import { appStore, useAppStore } from '../state/store';
import { PixelCanvas } from './PixelCanvas';
import { downloadPng, pngFileName } from './png';

export function HistoryStrip() {
  // deferred: a new image is painted first, its thumbnail in a later render (the worker → page hand-off)
  const history = useDeferredValue(useAppStore((s) => s.history));
  const currentKey = useDeferredValue(useAppStore((s) => s.current?.key));
  const notice = useAppStore((s) => s.historyNotice);
  if (history.length === 0) return null;
  const { showFromHistory, clearHistory } = appStore.getState();
  return (
    <section className="card history" aria-label="History">
      <header className="panel-head">
        <h2>History</h2>
        <button type="button" className="link" onClick={clearHistory}>
          Clear
        </button>
      </header>
      {notice && (
        <p className="history-notice" data-testid="history-notice">
          {notice}
        </p>
      )}
      <ul data-testid="history">
        {history.map((h) => {
          const what = h.variant.model === 'teacher' ? 'teacher' : `${h.variant.steps}-step`;
          return (
            <li key={h.key} className={h.key === currentKey ? 'current' : undefined}>
              <button type="button" className="thumb" onClick={() => showFromHistory(h.key)} title={`${h.prompt} · seed ${h.seed} · ${what}`}>
                <PixelCanvas image={h.output.image} label={`${what} image of “${h.prompt}”, seed ${h.seed}`} />
              </button>
              <button type="button" className="link small" onClick={() => void downloadPng(h.output.image, pngFileName(h.prompt, h.seed, h.output.unetId))} aria-label={`Download PNG of ${what} image, seed ${h.seed}`}>
                PNG
              </button>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
