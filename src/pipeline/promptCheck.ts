/**
 * What a closed-vocabulary bundle (ours) accepts as a prompt, and the text its tokenizer is given. A
 * standard SD folder has no vocabulary and its prompts go to the tokenizer as typed.
 */

import type { Vocabulary } from './bundle';
import { GrammarError, InputError, VocabularyError } from './errors';
import { checkGrammar, examplePrompts, isPromptPrefix, nextWords } from './grammar';
import { checkVocabulary, vocabularyMessage } from './vocabulary';

/**
 * The prompt as the model was trained to read it: known words, single spaces, no punctuation (the
 * tokenizer would turn a full stop into an unknown token the model never saw). Throws VocabularyError
 * for unknown words and GrammarError for known words out of the grammar's order, where the model would
 * draw an arbitrary image.
 */
export function closedVocabularyText(prompt: string, vocabulary: Vocabulary): string {
  const check = checkVocabulary(prompt, vocabulary.words);
  if (!check.ok) {
    const rejected = [...check.unknown, ...check.symbols];
    throw new VocabularyError(vocabularyMessage(check), rejected, check.suggestions, vocabulary.words);
  }
  if (check.words.length === 0) throw new InputError('The prompt has no words, only punctuation.');
  if (vocabulary.grammar) {
    const parsed = checkGrammar(check.words, vocabulary.grammar);
    if (!parsed.ok) {
      const examples = examplePrompts(vocabulary.grammar).map((p) => `“${p}”`).join(' or ');
      throw new GrammarError(`${parsed.message} Prompts read like ${examples}.`, parsed.at);
    }
  }
  return check.words.join(' ');
}

/**
 * Why `prompt` is not yet one the model reads (unknown words, punctuation only, words out of the grammar's
 * order, or a prompt that stops short), as closedVocabularyText would say it but without its examples; null
 * when it is one. Live mode asks this at each pause in typing, so that it never draws a prompt still being typed.
 */
export function promptProblem(prompt: string, vocabulary: Vocabulary): string | null {
  const check = checkVocabulary(prompt, vocabulary.words);
  if (!check.ok) return vocabularyMessage(check);
  if (check.words.length === 0) return 'The prompt has no words, only punctuation.';
  if (!vocabulary.grammar) return null;
  const parsed = checkGrammar(check.words, vocabulary.grammar);
  return parsed.ok ? null : parsed.message;
}

export interface PromptHelp {
  /** completions of the word being typed, or else the words that may follow the prompt */
  suggestions: string[];
  /** how many characters at the prompt's end a suggestion replaces (the word being typed) */
  replace: number;
  /** why the prompt cannot become one the model reads, as Generate would say; null while it still can */
  hint: string | null;
}

/** Why `words` (known ones) can never become a prompt of the grammar, or null. */
function grammarProblem(words: string[], vocabulary: Vocabulary): string | null {
  if (!vocabulary.grammar || isPromptPrefix(words, vocabulary.grammar)) return null;
  const r = checkGrammar(words, vocabulary.grammar);
  return r.ok ? null : r.message;
}

/** The word the prompt ends in, with no space after it (scanned from the end: a pasted page costs its length, once). */
function typedWord(prompt: string): string {
  let i = prompt.length;
  while (i > 0 && /[\p{L}\p{N}_']/u.test(prompt[i - 1] as string)) i -= 1;
  return prompt.slice(i);
}

/**
 * Help while the prompt is typed, cheap enough for every keystroke: a word the prompt ends in without
 * a space after it is still being typed, so it only needs to be the start of a word that may come there.
 */
export function promptHelp(prompt: string, vocabulary: Vocabulary): PromptHelp {
  const raw = typedWord(prompt);
  const partial = raw.toLowerCase();
  const done = checkVocabulary(prompt.slice(0, prompt.length - raw.length), vocabulary.words);
  if (!done.ok) return { suggestions: [], replace: 0, hint: vocabularyMessage(done) };
  const hint = grammarProblem(done.words, vocabulary);
  if (hint) return { suggestions: [], replace: 0, hint };
  const g = vocabulary.grammar;
  // without a grammar any known word may come next: only the word being typed is completed
  const allowed = g ? nextWords(done.words, g).words : partial ? vocabulary.words : [];
  if (partial === '') return { suggestions: allowed, replace: 0, hint: null };
  if (allowed.includes(partial)) return { suggestions: g ? nextWords([...done.words, partial], g).words : [], replace: 0, hint: null };
  const completions = allowed.filter((w) => w.startsWith(partial));
  if (completions.length > 0) return { suggestions: completions, replace: raw.length, hint: null };
  // a known word (or the start of one) in the wrong place is the grammar's problem, not a typo
  const known = vocabulary.words.some((w) => w.startsWith(partial));
  const whole = checkVocabulary(prompt, vocabulary.words);
  const message = known || whole.ok ? grammarProblem([...done.words, partial], vocabulary) : vocabularyMessage(whole);
  return { suggestions: [], replace: 0, hint: message };
}

/** The prompt with `word` put in place of the word being typed, or after the prompt. */
export function withSuggestion(prompt: string, help: PromptHelp, word: string): string {
  const head = prompt.slice(0, prompt.length - help.replace);
  return head === '' || /\s$/.test(head) ? `${head}${word}` : `${head} ${word}`;
}

export { examplePrompts };
