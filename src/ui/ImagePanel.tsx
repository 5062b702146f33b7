import { useAppStore } from '../state/store';
import { BusyBar } from './BusyBar';
import { ErrorBanner } from './ErrorBanner';
import { PixelCanvas } from './PixelCanvas';
import { recordPaint } from './perfLog';
import { BackendNote, RevealOnDone } from './ResultExtras';
import { downloadPng, pngFileName } from './png';
import { Timings } from './Timings';

export function ImagePanel() {
  const current = useAppStore((s) => s.current);
  const status = useAppStore((s) => s.status);
  const error = useAppStore((s) => s.error);
  const out = current?.output;
  const onPainted = (paintMs: number, paintedAt: number): void => {
    if (current) recordPaint({ key: current.key, seed: current.seed, unetId: current.output.unetId, paintedAt, paintMs, timings: current.output.timings, profile: current.output.profile });
  };
  const label = current ? `${current.variant.model === 'teacher' ? 'teacher' : `${current.variant.steps}-step`} image of “${current.prompt}”, seed ${current.seed}` : '';
  return (
    <section className="card image-panel" aria-label="Result" aria-busy={status === 'running'}>
      <div className="frame" data-status={status}>
        {out ? <PixelCanvas image={out.image} label={label} testId="result" className="main-image" onPainted={onPainted} /> : <div className="placeholder">Your image appears here</div>}
        {status === 'running' && <BusyBar />}
        <RevealOnDone />
      </div>
      <ErrorBanner error={error} />
      {current && out && (
        <div className="meta">
          <p data-testid="result-info">
            {out.recipe}
            {out.noiseCorrection ? ' · noise correction' : ''} · seed {current.seed} · {current.backend}
          </p>
          <BackendNote />
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
