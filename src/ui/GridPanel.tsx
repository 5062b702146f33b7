import type { GridSlice, GridTile } from '../state/gridSlice';
import { appStore, useAppStore } from '../state/store';
import { ErrorBanner } from './ErrorBanner';
import { recordGridPaint } from './perfLog';
import { PixelCanvas } from './PixelCanvas';

const runMs = (t: GridTile): number => t.image?.output.timings.filter((r) => r.stage !== 'load').reduce((a, r) => a + r.ms, 0) ?? 0;

/** What ran: one batched run (every tile carries its timings) or one run per seed. */
function statusText(status: GridSlice['gridStatus'], batched: boolean | null, tiles: readonly GridTile[]): string {
  const n = tiles.length;
  if (status === 'running') return `Drawing ${n} seeds…`;
  if (status !== 'done' || batched === null) return '';
  if (batched) return `${n} seeds in one batched run · ${Math.round(runMs(tiles[0] ?? { seed: 0, image: null }))} ms`;
  return `${n} seeds one after another: this model's graphs take one image at a time · ${Math.round(tiles.reduce((a, t) => a + runMs(t), 0))} ms`;
}

/** One prompt at several seeds; a tile becomes the main image (and its seed the form's) when clicked. */
export function GridPanel() {
  const tiles = useAppStore((s) => s.grid);
  const status = useAppStore((s) => s.gridStatus);
  const error = useAppStore((s) => s.gridError);
  const batched = useAppStore((s) => s.gridBatched);
  const { setView, pickGridTile } = appStore.getState();
  return (
    <section className="card grid-panel" aria-label="Seed grid" aria-busy={status === 'running'}>
      <header className="panel-head">
        <h2>Seed grid</h2>
        <button type="button" className="link" onClick={() => setView('single')}>
          Back to single image
        </button>
      </header>
      <ErrorBanner error={error} testId="grid-error" />
      <p className="grid-status" data-testid="grid-status">
        {statusText(status, batched, tiles)}
      </p>
      <ol className="seed-grid">
        {tiles.map((t, i) => (
          <li key={t.seed} data-testid={`grid-${i}`}>
            {t.image ? (
              <button type="button" className="thumb" onClick={() => pickGridTile(i)} title="Make this the main image">
                <PixelCanvas image={t.image.output.image} label={`seed ${t.seed}`} onPainted={(_ms, at) => t.image && recordGridPaint({ key: t.image.key, seed: t.seed, paintedAt: at })} />
              </button>
            ) : (
              <div className="placeholder small">{status === 'running' ? '…' : '–'}</div>
            )}
            <span>seed {t.seed}</span>
          </li>
        ))}
      </ol>
    </section>
  );
}
