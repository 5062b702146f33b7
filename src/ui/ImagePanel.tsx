import { appStore, useAppStore } from '../state/store';
import { ErrorBanner } from './ErrorBanner';
import { PixelCanvas } from './PixelCanvas';
import { recordPaint } from './perfLog';
import { downloadPng, pngFileName } from './png';
import { Timings } from './Timings';

export function ImagePanel() {
  const current = useAppStore((s) => s.current);
  const status = useAppStore((s) => s.status);
  const step = useAppStore((s) => s.step);
  const error = useAppStore((s) => s.error);
  const out = current?.output;
  const { cancelGeneration } = appStore.getState();
  const onPainted = (paintMs: number, paintedAt: number): void => {
    if (current) recordPaint({ key: current.key, seed: current.seed, unetId: current.output.unetId, paintedAt, paintMs, timings: current.output.timings, profile: current.output.profile });
  };
  const label = current ? `${current.variant.model === 'teacher' ? 'teacher' : `${current.variant.steps}-step`} image of “${current.prompt}”, seed ${current.seed}` : '';
  return (
    <section className="card image-panel" aria-label="Result" aria-busy={status === 'running'}>
      <div className="frame" data-status={status}>
        {out ? <PixelCanvas image={out.image} label={label} testId="result" className="main-image" onPainted={onPainted} /> : <div className="placeholder">Your image appears here</div>}
        {status === 'running' && (
          <div className="busy" data-testid="busy">
            <span className="step-bar" aria-hidden="true">
              <span style={{ width: `${step ? (100 * (step.index + 1)) / step.total : 0}%` }} />
            </span>
            {step ? `Step ${step.index + 1} of ${step.total}` : 'Preparing…'}
            <button type="button" className="link on-dark" onClick={cancelGeneration}>
              Cancel
            </button>
          </div>
        )}
      </div>
      <ErrorBanner error={error} />
      {current && out && (
        <div className="meta">
          <p data-testid="result-info">
            {out.recipe}
            {out.noiseCorrection ? ' · noise correction' : ''} · seed {current.seed} · {current.backend}
          </p>
          {out.truncated && (
            <p className="notice" data-testid="truncation">
              The prompt is {out.tokenCount} tokens; the model reads the first 77, the rest was cut off.
            </p>
          )}
          <button type="button" className="secondary" onClick={() => void downloadPng(out.image, pngFileName(current.prompt, current.seed, out.unetId))}>
            Download PNG
          </button>
          <Timings timings={out.timings} />
        </div>
      )}
    </section>
  );
}
