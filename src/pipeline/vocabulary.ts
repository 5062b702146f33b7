/**
 * Our bundles are trained on a closed vocabulary (ShapeScenes); a word outside it gives an image that
 * ignores it, so the app refuses the prompt and says which word and what the model knows instead.
 */

export type VocabularyCheck = { ok: true } | { ok: false; unknown: string[]; suggestions: Record<string, string> };

/** Words as the bundles' tokenizer pre-splits them (lowercase, \w+ runs or punctuation runs). */
export function promptWords(prompt: string): string[] {
  return prompt.toLowerCase().match(/[\p{L}\p{N}_']+|[^\s\p{L}\p{N}_']+/gu) ?? [];
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] as number;
}

/** The closest known word when it is a plausible typo (at most a third of the letters differ). */
export function closestWord(word: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(word, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== null && bestD <= Math.max(1, Math.floor(word.length / 3)) ? best : null;
}

export function checkVocabulary(prompt: string, known: readonly string[]): VocabularyCheck {
  const set = new Set(known);
  const unknown = [...new Set(promptWords(prompt).filter((w) => !set.has(w)))];
  if (unknown.length === 0) return { ok: true };
  const suggestions: Record<string, string> = {};
  for (const w of unknown) {
    const c = closestWord(w, known);
    if (c) suggestions[w] = c;
  }
  return { ok: false, unknown, suggestions };
}

export function vocabularyMessage(check: Extract<VocabularyCheck, { ok: false }>): string {
  const quoted = check.unknown.map((w) => `"${w}"${check.suggestions[w] ? ` (did you mean "${check.suggestions[w]}"?)` : ''}`);
  const noun = check.unknown.length === 1 ? 'word' : 'words';
  return `This model does not know the ${noun} ${quoted.join(', ')}.`;
}
