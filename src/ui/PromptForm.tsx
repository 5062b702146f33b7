import type { FormEvent } from 'react';
import { MAX_SEED, STEP_COUNTS } from '../state/formSlice';
import { appStore, useAppStore } from '../state/store';

export function PromptForm() {
  const prompt = useAppStore((s) => s.prompt);
  const steps = useAppStore((s) => s.steps);
  const seed = useAppStore((s) => s.seed);
  const modelReady = useAppStore((s) => s.modelReady);
  const { setPrompt, setSteps, setSeed, requestGenerate } = appStore.getState();

  const onSubmit = (e: FormEvent<HTMLFormElement>): void => {
    e.preventDefault();
    requestGenerate();
  };

  return (
    <form className="prompt-form" onSubmit={onSubmit}>
      <label className="prompt">
        Prompt
        <input type="text" value={prompt} onChange={(e) => setPrompt(e.target.value)} />
      </label>
      <label>
        Steps
        <select value={steps} onChange={(e) => setSteps(Number(e.target.value))}>
          {STEP_COUNTS.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </label>
      <label>
        Seed
        <input
          type="number"
          min={0}
          max={MAX_SEED}
          step={1}
          value={seed}
          onChange={(e) => setSeed(e.target.valueAsNumber)}
        />
      </label>
      <button type="submit" disabled={!modelReady || prompt.trim() === ''}>
        Generate
      </button>
    </form>
  );
}
