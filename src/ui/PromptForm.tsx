import type { FormEvent } from 'react';
import type { UnetSummary } from '../pipeline/pipeline';
import { flashSteps, hasTeacher } from '../pipeline/variants';
import { STEP_COUNTS } from '../state/formSlice';
import { appStore, useAppStore } from '../state/store';
import { BUSY_DELAY_MS } from './BusyBar';
import { PromptHelp } from './PromptHelp';
import { SeedField } from './SeedField';
import { Segmented } from './Segmented';
import { useDelayedFlag } from './useDelayedFlag';
import { ViewButtons } from './ViewButtons';

const ABSENT = 'not in this bundle';

/** Options the loaded bundle lacks are disabled (all are offered while nothing is loaded). */
function options(unets: readonly UnetSummary[] | null) {
  const flash = unets ? flashSteps(unets) : STEP_COUNTS;
  const teacher = unets ? hasTeacher(unets) : true;
  return {
    steps: STEP_COUNTS.map((n) => ({ value: n, label: String(n), title: flash.includes(n) ? `${n} step${n === 1 ? '' : 's'}` : ABSENT, disabled: !flash.includes(n) })),
    models: [
      { value: 'flash' as const, label: 'Flash', title: flash.length ? 'the distilled few-step model' : ABSENT, disabled: flash.length === 0 },
      { value: 'teacher' as const, label: 'Teacher', title: teacher ? 'the original model: DPM-Solver++, many steps, CFG' : ABSENT, disabled: !teacher },
    ],
  };
}

export function PromptForm() {
  const prompt = useAppStore((s) => s.prompt);
  const steps = useAppStore((s) => s.steps);
  const model = useAppStore((s) => s.model);
  const nc = useAppStore((s) => s.noiseCorrection);
  const ready = useAppStore((s) => s.modelReady);
  // the label changes only for runs longer than the busy bar's delay (a repaint mid-run costs the worker CPU), and
  // not for live runs, which come and go with the typing
  const running = useDelayedFlag(useAppStore((s) => s.status === 'running' && s.runKind === 'chosen'), BUSY_DELAY_MS);
  const unets = useAppStore((s) => (s.load.kind === 'ready' ? s.load.summary.unets : null));
  const notice = useAppStore((s) => s.modelNotice);
  const offered = options(unets);
  const { setPrompt, setSteps, setModel, setNoiseCorrection, requestGenerate } = appStore.getState();

  const onSubmit = (e: FormEvent<HTMLFormElement>): void => {
    e.preventDefault();
    requestGenerate();
  };

  return (
    <form className="prompt-form card" onSubmit={onSubmit} aria-label="Generate an image">
      <label className="prompt-label" htmlFor="prompt">
        Prompt
      </label>
      <div className="prompt-row">
        <input id="prompt" type="text" value={prompt} onChange={(e) => setPrompt(e.target.value)} placeholder="a red circle above a blue star" autoComplete="off" spellCheck={false} aria-describedby="prompt-hint" />
        <button type="submit" className="primary" disabled={!ready}>
          {running ? 'Generating…' : 'Generate'}
        </button>
      </div>
      <PromptHelp />
      <div className="options">
        <div className="option">
          <span className="option-label">Model</span>
          <Segmented name="model" label="Model" value={model} options={offered.models} onChange={setModel} />
        </div>
        <div className="option">
          <span className="option-label">Steps</span>
          <Segmented name="steps" label="Steps" value={steps} options={offered.steps} onChange={setSteps} disabled={model === 'teacher'} />
        </div>
        <label className="option switch" title="Reuses the starting noise on the first step, where the model's own estimate of the noise is unreliable: images made in 2 or 3 steps get stronger color and contrast. No effect with 1 step or with the teacher.">
          <input type="checkbox" checked={nc} disabled={model === 'teacher'} onChange={(e) => setNoiseCorrection(e.target.checked)} />
          <span>Noise correction</span>
        </label>
        <SeedField />
        <ViewButtons />
      </div>
      {notice && (
        <p className="notice" data-testid="model-notice">
          {notice}
        </p>
      )}
    </form>
  );
}
