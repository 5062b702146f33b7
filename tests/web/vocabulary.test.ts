import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GrammarError, InputError, VocabularyError } from '../../src/pipeline/errors';
import { parseManifest } from '../../src/pipeline/manifest';
import { openBundle } from '../../src/pipeline/openBundle';
import { Pipeline, type GenerateParams } from '../../src/pipeline/pipeline';
import { closedVocabularyText } from '../../src/pipeline/promptCheck';
import { createTokenizer } from '../../src/pipeline/tokenizer';
import { checkVocabulary, closestWord, promptWords, vocabularyMessage } from '../../src/pipeline/vocabulary';
import { BASE, nodeIo } from './helpers/nodeIo';
import { nodeRuntime } from './helpers/nodeRuntime';

const shipped = (file: string): unknown => JSON.parse(readFileSync(new URL(`../../models/shapescenes/${file}`, import.meta.url), 'utf8'));
const vocabulary = parseManifest(shipped('manifest.json'), 'http://test/').spec.vocabulary;
if (!vocabulary) throw new Error('models/shapescenes has no vocabulary');
const words = vocabulary.words;

function rejected(prompt: string) {
  const check = checkVocabulary(prompt, words);
  if (check.ok) throw new Error(`"${prompt}" was accepted`);
  return check;
}

describe('vocabulary check', () => {
  it('splits like the tokenizer and accepts known words in any case', () => {
    expect(promptWords('A Red circle, on  the white background')).toEqual(['a', 'red', 'circle', ',', 'on', 'the', 'white', 'background']);
    expect(checkVocabulary('A RED circle to the left of a blue square', words)).toEqual({ ok: true, words: 'a red circle to the left of a blue square'.split(' ') });
  });

  it('accepts sentence punctuation and leaves it out of the words the model reads', () => {
    for (const p of ['a red circle.', 'a red circle!', 'a red circle?', 'A red circle, above a blue star...', 'a red circle;', 'two red circles …']) {
      const check = checkVocabulary(p, words);
      expect(check.ok, p).toBe(true);
      if (check.ok) expect(check.words.every((w) => /^[a-z]+$/.test(w)), p).toBe(true);
    }
  });

  it('names unknown words once each and suggests close known ones', () => {
    const check = rejected('a red cirlce and a red dragon cirlce');
    expect(check).toEqual({ ok: false, unknown: ['cirlce', 'dragon'], symbols: [], suggestions: { cirlce: 'circle' } });
    expect(vocabularyMessage(check)).toBe('This model does not know the words "cirlce" (did you mean "circle"?), "dragon".');
    expect(closestWord('zebra', words)).toBeNull();
    expect(closestWord('bleu', words)).toBe('blue');
    expect(closestWord('circel', words)).toBe('circle');
  });

  it('offers no letter word for a symbol or a number, and no typo fix for a lone unknown letter', () => {
    for (const token of ['=', '1', '42', '+', '#']) {
      const check = rejected(`a red circle ${token}`);
      expect(check.suggestions, token).toEqual({});
      expect(vocabularyMessage(check), token).toBe(`Only words are understood: "${token}".`);
    }
    const x = rejected('a red circle x');
    expect(x.suggestions).toEqual({});
    expect(vocabularyMessage(x)).toBe('This model does not know the word "x".');
    expect(vocabularyMessage(rejected('a red circel = 3'))).toBe('This model does not know the word "circel" (did you mean "circle"?). Only words are understood: "=", "3".');
  });

  it('quotes a very long word clipped, so the message stays one line long', () => {
    const message = vocabularyMessage(rejected(`a red ${'x'.repeat(5000)}`));
    expect(message.length).toBeLessThan(80);
    expect(message).toContain(`"${'x'.repeat(21)}…"`);
  });
});

describe('the text a ShapeScenes model reads', () => {
  const tokenizer = createTokenizer(shipped('tokenizer/tokenizer.json'), shipped('tokenizer/tokenizer_config.json'));

  it('"a red circle." gives the token ids of "a red circle" (the tokenizer alone would add an unknown token)', () => {
    const plain = tokenizer.encode('a red circle');
    expect(tokenizer.encode('a red circle.')).not.toEqual(plain);
    for (const p of ['a red circle.', 'A Red Circle!', '  a red   circle ?', 'a red, circle']) {
      expect(tokenizer.encode(closedVocabularyText(p, vocabulary)), p).toEqual(plain);
    }
  });

  it('refuses unknown words and symbols with a VocabularyError, word salad with a GrammarError', () => {
    expect(() => closedVocabularyText('a red circle =', vocabulary)).toThrow(VocabularyError);
    expect(() => closedVocabularyText(' . ', vocabulary)).toThrow(/^The prompt has no words, only punctuation\.$/);
    const salad = (() => {
      try {
        closedVocabularyText('circle red a blue', vocabulary);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(salad).toBeInstanceOf(GrammarError);
    expect(salad).toBeInstanceOf(InputError);
    expect((salad as Error).message).toMatch(/^Expected "a", "an", "two" or "three" at the start, not "circle"\. Prompts read like “a red circle to the left of a blue square”/);
  });
});

describe('generate() with punctuation and out-of-grammar prompts', () => {
  const params = (prompt: string): GenerateParams => ({ prompt, seed: 3, model: 'flash', steps: 1, noiseCorrection: true });
  const open = async (bundle: string): Promise<Pipeline> => new Pipeline(await openBundle(nodeIo(), `${BASE}${bundle}/`), nodeIo(), nodeRuntime());

  it('draws "a red circle." exactly as "a red circle"; refuses "circle red a blue" before loading anything', { timeout: 60_000 }, async () => {
    const pipe = await open('tiny-bundle');
    await expect(pipe.generate(params('circle red a blue'))).rejects.toBeInstanceOf(GrammarError);
    const [dotted, plain] = [await pipe.generate(params('a red circle.')), await pipe.generate(params('a red circle'))];
    expect(dotted.tokenCount).toBe(plain.tokenCount);
    expect(Array.from(dotted.image.data)).toEqual(Array.from(plain.image.data));
  });

  it('a standard SD folder has no vocabulary and no grammar: any word order is drawn', { timeout: 60_000 }, async () => {
    const pipe = await open('tiny-sd');
    const out = await pipe.generate(params('circle red a blue.'));
    expect(out.image.width).toBeGreaterThan(0);
  });
});
