/**
 * Our bundles are trained on a closed vocabulary (ShapeScenes); a word outside it gives an image that
 * ignores it, so the app refuses the prompt and says which word and what the model knows instead.
 */

export type VocabularyCheck =
  | { ok: true; words: string[] }
  /** `unknown`: words outside the vocabulary; `symbols`: tokens with no letter in them ("=", "1") */
  | { ok: false; unknown: string[]; symbols: string[]; suggestions: Record<string, string> };

/** Tokens as the bundles' tokenizer pre-splits them (lowercase, \w+ runs or punctuation runs). */
export function promptWords(prompt: string): string[] {
  return prompt.toLowerCase().match(/[\p{L}\p{N}_']+|[^\s\p{L}\p{N}_']+/gu) ?? [];
}

/**
 * Punctuation a sentence may carry that says nothing about the picture. The model never saw any (its
 * prompts are generated without it, distill/domain/grammar.py), so it is dropped rather than refused.
 */
const SENTENCE_PUNCTUATION = /^[.,!?;:…]+$/u;

const hasLetter = (token: string): boolean => /\p{L}/u.test(token);

/** Optimal string alignment distance: a swap of two neighbouring letters ("cirlce") counts as one edit. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => (d[i] as number[])[j] as number;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = v;
    }
  }
  return at(a.length, b.length);
}

/**
 * The closest known word when `word` is a plausible typo of it: at most a third of the letters differ
 * (one edit for short words), and not every letter (a lone "x" is no typo of "a").
 */
export function closestWord(word: string, known: readonly string[]): string | null {
  if (!hasLetter(word)) return null;
  const limit = Math.min(Math.max(1, Math.floor(word.length / 3)), word.length - 1);
  let best: string | null = null;
  let bestD = Infinity;
  for (const k of known) {
    // the distance is at least the difference in length: a pasted paragraph needs no full comparison
    if (Math.abs(word.length - k.length) > limit) continue;
    const d = editDistance(word, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return bestD <= limit ? best : null;
}

/** Whether every token is a known word (sentence punctuation aside); `words` are the ones the model reads. */
export function checkVocabulary(prompt: string, known: readonly string[]): VocabularyCheck {
  const set = new Set(known);
  const words = promptWords(prompt).filter((t) => !SENTENCE_PUNCTUATION.test(t));
  const rejected = [...new Set(words.filter((w) => !set.has(w)))];
  if (rejected.length === 0) return { ok: true, words };
  const suggestions: Record<string, string> = {};
  for (const w of rejected) {
    const c = closestWord(w, known);
    if (c) suggestions[w] = c;
  }
  return { ok: false, unknown: rejected.filter(hasLetter), symbols: rejected.filter((t) => !hasLetter(t)), suggestions };
}

/** A word (or text) as a message quotes it: a pasted page of text must not become a page-wide message. */
export function clipWord(word: string, max = 24): string {
  return word.length > max ? `${word.slice(0, max - 3)}…` : word;
}

export function vocabularyMessage(check: Extract<VocabularyCheck, { ok: false }>): string {
  const parts: string[] = [];
  if (check.unknown.length > 0) {
    const quoted = check.unknown.map((w) => `"${clipWord(w)}"${check.suggestions[w] ? ` (did you mean "${check.suggestions[w]}"?)` : ''}`);
    parts.push(`This model does not know the ${check.unknown.length === 1 ? 'word' : 'words'} ${quoted.join(', ')}.`);
  }
  if (check.symbols.length > 0) parts.push(`Only words are understood: ${check.symbols.map((s) => `"${clipWord(s)}"`).join(', ')}.`);
  return parts.join(' ');
}
