/**
 * What a closed-vocabulary bundle (ours) accepts as a prompt, and the text its tokenizer is given. A
 * standard SD folder has no vocabulary and its prompts go to the tokenizer as typed.
 */

import type { Vocabulary } from './bundle';
import { GrammarError, InputError, VocabularyError } from './errors';
import { checkGrammar, examplePrompts } from './grammar';
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
