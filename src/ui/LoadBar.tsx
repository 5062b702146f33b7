import { useAppStore } from '../state/store';

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(bytes < 1e7 ? 2 : 1)} MB`;
}

/** Download progress of the model files (bytes verified so far of the files this load needs). */
export function LoadBar() {
  const load = useAppStore((s) => s.load);
  if (load.kind !== 'loading') return null;
  const p = load.progress;
  const pct = p?.bytesTotal ? Math.min(100, (100 * p.bytesDone) / p.bytesTotal) : null;
  const text = p ? `${p.fromCache ? 'From cache' : 'Downloading'} ${p.file}${p.bytesTotal ? ` · ${mb(p.bytesDone)} of ${mb(p.bytesTotal)}` : ''}` : 'Reading the manifest…';
  return (
    <div className="loadbar" data-testid="load-progress">
      <progress max={100} value={pct ?? undefined} aria-label="Model download" />
      <span>{text}</span>
    </div>
  );
}
