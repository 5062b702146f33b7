import { appStore, useAppStore } from '../state/store';
import { ErrorBanner } from './ErrorBanner';
import { PixelCanvas } from './PixelCanvas';
import { pendingText, SplitView } from './SplitView';

/** The same prompt and seed at 1, 2 and 3 steps and with the teacher, side by side and in a split view. */
export function ComparePanel() {
  const entries = useAppStore((s) => s.compare);
  const status = useAppStore((s) => s.compareStatus);
  const error = useAppStore((s) => s.compareError);
  const left = useAppStore((s) => s.compareLeft);
  const right = useAppStore((s) => s.compareRight);
  const { setCompareSides, setView } = appStore.getState();
  const pick = (side: 'left' | 'right', i: number): void => (side === 'left' ? setCompareSides(i, right) : setCompareSides(left, i));

  return (
    <section className="card compare-panel" aria-label="Step comparison" aria-busy={status === 'running'}>
      <header className="panel-head">
        <h2>Step comparison</h2>
        <button type="button" className="link" onClick={() => setView('single')}>
          Back to single image
        </button>
      </header>
      <ErrorBanner error={error} testId="compare-error" />
      <SplitView />
      <div className="side-pickers">
        {(['left', 'right'] as const).map((side) => (
          <label key={side}>
            <span className="option-label">{side === 'left' ? 'Left' : 'Right'}</span>
            <select value={side === 'left' ? left : right} onChange={(e) => pick(side, Number(e.target.value))}>
              {entries.map((e, i) => (
                <option key={e.label} value={i}>
                  {e.label}
                </option>
              ))}
            </select>
          </label>
        ))}
      </div>
      <ol className="compare-grid">
        {entries.map((e, i) => (
          <li key={e.label} data-testid={`compare-${i}`}>
            {e.image ? (
              <PixelCanvas image={e.image.output.image} label={`${e.label}`} />
            ) : (
              <div className={`placeholder small${e.error ? ' failed' : ''}`} title={pendingText(e, status === 'running')}>
                {e.error ? 'failed' : status === 'running' ? '…' : '–'}
              </div>
            )}
            <span>{e.label}</span>
            {e.image && <span className="ms">{Math.round(e.image.output.timings.filter((t) => t.stage !== 'load').reduce((a, t) => a + t.ms, 0))} ms</span>}
          </li>
        ))}
      </ol>
    </section>
  );
}
