import { useEffect, useMemo, useRef, useState } from 'react';
import type { Vocabulary } from '../pipeline/bundle';
import { examplePrompts, promptHelp, withSuggestion } from '../pipeline/promptCheck';
import { DEFAULT_PROMPT } from '../state/formSlice';
import { appStore, useAppStore } from '../state/store';
import { focusPrompt, useChipKeys } from './useChipKeys';

/** Help follows the typing after a short pause: a fast typist's every keystroke need not re-render it. */
const DEBOUNCE_MS = 120;
const MAX_SUGGESTIONS = 12;
const EXAMPLES = 3;

function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return settled;
}

/** Suggestions, a hint and example prompts under the prompt, for a bundle with a vocabulary (none for an SD folder). */
export function PromptHelp() {
  const prompt = useDebounced(
    useAppStore((s) => s.prompt),
    DEBOUNCE_MS,
  );
  const words = useAppStore((s) => (s.load.kind === 'ready' ? s.load.summary.vocabulary : null));
  const grammar = useAppStore((s) => (s.load.kind === 'ready' ? (s.load.summary.grammar ?? null) : null));
  const vocabulary = useMemo<Vocabulary | null>(() => (words ? { words, grammar } : null), [words, grammar]);
  const help = useMemo(() => (vocabulary ? promptHelp(prompt, vocabulary) : null), [prompt, vocabulary]);
  // the prompt box starts with one of them: a chip for it would do nothing
  const examples = useMemo(() => (grammar ? examplePrompts(grammar, EXAMPLES + 1).filter((e) => e !== DEFAULT_PROMPT).slice(0, EXAMPLES) : []), [grammar]);
  const ref = useRef<HTMLDivElement>(null);
  const onKeyDown = useChipKeys(ref);
  if (!vocabulary || !help) return null;
  const { setPrompt, requestGenerate } = appStore.getState();
  const put = (text: string): void => {
    setPrompt(text);
    focusPrompt();
  };

  return (
    <div className="prompt-help" ref={ref} onKeyDown={onKeyDown}>
      {help.hint && (
        <p id="prompt-hint" className="prompt-hint" data-testid="prompt-hint" aria-live="polite">
          {help.hint}
        </p>
      )}
      {help.suggestions.length > 0 && (
        <div className="chips" role="group" aria-label="Next word suggestions">
          {help.suggestions.slice(0, MAX_SUGGESTIONS).map((w) => (
            <button key={w} type="button" className="chip" tabIndex={-1} onClick={() => put(withSuggestion(prompt, help, w))}>
              {w}
            </button>
          ))}
        </div>
      )}
      {examples.length > 0 && (
        <div className="chips examples" role="group" aria-label="Examples to try">
          <span className="chips-label" aria-hidden="true">
            Try
          </span>
          {examples.map((e) => (
            <button
              key={e}
              type="button"
              className="chip example"
              tabIndex={-1}
              title="Fill in this example and generate it"
              onClick={() => {
                put(e);
                requestGenerate();
              }}
            >
              {e}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}
