import { clipWord } from '../pipeline/vocabulary';
import type { GeneratedImage } from '../state/generationSlice';
import { useAppStore } from '../state/store';
import { BusyBar } from './BusyBar';
import { ErrorBanner } from './ErrorBanner';
import { LiveNote } from './LiveNote';
import { PixelCanvas } from './PixelCanvas';
import { recordPaint } from './perfLog';
import { BackendNote, RevealOnDone } from './ResultExtras';
import { downloadPng, pngFileName } from './png';
import { Timings } from './Timings';

/** the longest prompt the result line quotes whole */
const PROMPT_CLIP = 60;

/** A result line a person can read on its own: which model, how, from what prompt and seed, where. */
function resultLine(image: GeneratedImage): string {
  return `${image.variant.model === 'teacher' ? 'Teacher' : 'Flash'}, ${image.output.recipe} · “${clipWord(image.prompt, PROMPT_CLIP)}” · seed ${image.seed} · ${image.backend}`;
}

export function ImagePanel() {
  const current = useAppStore((s) => s.current);
  const status = useAppStore((s) => s.status);
  const error = useAppStore((s) => s.error);
  const out = current?.output;
  const onPainted = (paintMs: number, paintedAt: number): void => {
    if (current) recordPaint({ key: current.key, prompt: current.prompt, seed: current.seed, unetId: current.output.unetId, paintedAt, paintMs, timings: current.output.timings, profile: current.output.profile });
  };
  // After a failed run the earlier image stays, dimmed and labelled as the previous one: someone fixing a typo
  // keeps what they had to compare against (clearing it would also flash the panel empty). Its info line,
  // notices, Download and timings go: under the error they would read as the failed request's.
  const previous = error !== null && current !== null;
  const label = current ? `${previous ? 'previous ' : ''}${current.variant.model === 'teacher' ? 'teacher' : `${current.variant.steps}-step`} image of “${current.prompt}”, seed ${current.seed}` : '';
  return (
    <section className="card image-panel" aria-label="Result" aria-busy={status === 'running'}>
      <div className={previous ? 'frame previous' : 'frame'} data-status={status}>
        {out ? <PixelCanvas image={out.image} label={label} testId="result" className="main-image" onPainted={onPainted} /> : <div className="placeholder">Your image appears here</div>}
        {status === 'running' && <BusyBar />}
        <RevealOnDone />
      </div>
      <LiveNote />
      <ErrorBanner error={error} />
      {previous && (
        <p className="previous-note" data-testid="previous-note">
          Above: the previous image (“{clipWord(current.prompt, PROMPT_CLIP)}”, seed {current.seed}).
        </p>
      )}
      {current && out && !previous && (
        <div className="meta">
          <p data-testid="result-info" title={current.prompt}>
            {resultLine(current)}
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
