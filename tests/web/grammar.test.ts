import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkGrammar, examplePrompts, nextWords, type GrammarClasses, type PromptMeaning } from '../../src/pipeline/grammar';
import { parseManifest } from '../../src/pipeline/manifest';
import { closedVocabularyText, promptHelp, withSuggestion } from '../../src/pipeline/promptCheck';
import { fixtureBytes } from './helpers/nodeIo';

const json = (url: URL): unknown => JSON.parse(readFileSync(url, 'utf8'));
const shippedManifest = json(new URL('../../models/shapescenes/manifest.json', import.meta.url)) as Record<string, unknown>;
const { vocabulary } = parseManifest(shippedManifest, 'http://test/').spec;
const classes = vocabulary?.grammar as GrammarClasses;

/** The dev prompts the students are scored on (eval/, the repository's copy of shared/eval/). */
const devPrompts = readFileSync(new URL('../../eval/dev_prompts.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as PromptMeaning & { prompt: string });

/** What distill/domain/grammar.py's parse_prompt makes of each prompt (tests/web/grammar_vectors.py). */
type Vector = { prompt: string; ok: true; meaning: PromptMeaning } | { prompt: string; ok: false; at: number };
const vectors = (json(new URL('./grammar_vectors.json', import.meta.url)) as { cases: Vector[] }).cases;

const check = (prompt: string) => checkGrammar(prompt.split(' '), classes);
function message(prompt: string): string {
  const r = check(prompt);
  if (r.ok) throw new Error(`"${prompt}" was accepted`);
  return r.message;
}

describe('the ShapeScenes grammar', () => {
  it('is read from the manifests that list the word classes', () => {
    expect(classes).toEqual({
      colors: ['red', 'orange', 'yellow', 'green', 'blue', 'purple', 'pink'],
      shapes: ['circle', 'square', 'triangle', 'star', 'heart'],
      sizes: ['small', 'large'],
      backgrounds: ['white', 'gray', 'black'],
      relations: ['to the left of', 'to the right of', 'above', 'below'],
      counts: ['two', 'three'],
    });
    const tiny = JSON.parse(new TextDecoder().decode(fixtureBytes('tiny-bundle/manifest.json'))) as Record<string, unknown>;
    expect(parseManifest(tiny, 'http://test/').spec.vocabulary?.grammar).toEqual(classes);
    // a vocabulary with words only (no classes): the words are checked, the order is not
    const wordsOnly = { ...shippedManifest, vocabulary: { words: ['a', 'red', 'circle'] } };
    const v = parseManifest(wordsOnly, 'http://test/').spec.vocabulary;
    expect(v?.grammar).toBeNull();
    expect(closedVocabularyText('circle red a', v ?? { words: [], grammar: null })).toBe('circle red a');
  });

  it(`accepts every dev prompt (${devPrompts.length}) with the meaning the file states`, () => {
    expect(devPrompts.length).toBeGreaterThanOrEqual(350);
    for (const row of devPrompts) {
      const r = check(row.prompt);
      expect(r, row.prompt).toEqual({ ok: true, meaning: { objects: row.objects, relation: row.relation, background: row.background } });
      expect(closedVocabularyText(`${row.prompt}.`, vocabulary ?? { words: [], grammar: null })).toBe(row.prompt);
    }
  });

  it(`agrees with distill/domain/grammar.py's parse_prompt on ${vectors.length} exported prompts: meaning, or the word it stops at`, () => {
    expect(vectors.filter((v) => v.ok).length).toBeGreaterThan(100);
    expect(vectors.filter((v) => !v.ok).length).toBeGreaterThan(100);
    for (const v of vectors) {
      const r = check(v.prompt);
      if (v.ok) expect(r, v.prompt).toEqual({ ok: true, meaning: v.meaning });
      else expect(r.ok ? 'accepted' : r.at, v.prompt).toBe(v.at);
    }
  });

  it('says what is wrong, where', () => {
    expect(message('circle red a blue')).toBe('Expected "a", "an", "two" or "three" at the start, not "circle".');
    expect(message('to the left of')).toBe('Expected "a", "an", "two" or "three" at the start, not "to".');
    expect(message('a red')).toBe('Expected a shape ("circle", "square", "triangle", "star" or "heart") after "red", but the prompt ends there.');
    expect(message('a circle')).toMatch(/^Expected a size or a color \("red", .*\) after "a", not "circle"\.$/);
    expect(message('a red circle to the up')).toBe('Expected "left" or "right" after "the", not "up".');
    expect(message('two red circle')).toMatch(/^Expected a plural shape \("circles", .*\) after "red", not "circle"\.$/);
    expect(message('a red circle blue')).toBe(
      '"blue" cannot follow "circle": the prompt should end there or go on with "and", "to the left of", "to the right of", "above", "below" or "on a … background".',
    );
    expect(message('two red circles and a blue square')).toBe('"and" cannot follow "circles": the prompt should end there or go on with "on a … background".');
    expect(message('a red circle on a white background above')).toBe('"above" cannot follow "background": the prompt should end there.');
  });

  it("offers example prompts that are themselves in the grammar, in the bundle's words", () => {
    const examples = examplePrompts(classes);
    expect(examples).toEqual(['a red circle to the left of a blue square', 'two green stars']);
    for (const e of examples) expect(check(e).ok, e).toBe(true);
    const more = examplePrompts(classes, 4);
    expect(more).toEqual([...examples, 'a large purple heart on a black background', 'a yellow triangle and a pink circle']);
    for (const e of more) expect(check(e).ok, e).toBe(true);
  });
});

describe('the words that may come next', () => {
  const next = (prompt: string) => nextWords(prompt === '' ? [] : prompt.split(' '), classes);

  it('offers, at every prefix of every dev prompt, the word that prompt goes on with, and the end at its end', () => {
    // the prompts share most of their prefixes: each is parsed once, with every word a dev prompt goes on with
    const following = new Map<string, Set<string>>();
    for (const { prompt } of devPrompts) {
      const words = prompt.split(' ');
      words.forEach((w, i) => {
        const key = words.slice(0, i).join(' ');
        following.set(key, (following.get(key) ?? new Set()).add(w));
      });
      expect(nextWords(words, classes).canEnd, prompt).toBe(true);
    }
    expect(following.size).toBeGreaterThan(100);
    for (const [prefix, words] of following) expect(next(prefix).words, `after "${prefix}"`).toEqual(expect.arrayContaining([...words]));
  }, 20_000);

  it('offers only words of the right class, and none after a prompt that cannot go on', () => {
    expect(next('')).toEqual({ words: ['a', 'an', 'two', 'three'], canEnd: false });
    expect(next('a red')).toEqual({ words: classes.shapes, canEnd: false });
    expect(next('a')).toEqual({ words: [...classes.sizes, ...classes.colors], canEnd: false });
    expect(next('two red')).toEqual({ words: classes.shapes.map((s) => `${s}s`), canEnd: false });
    expect(next('a red circle to the')).toEqual({ words: ['left', 'right'], canEnd: false });
    expect(next('a red circle')).toEqual({ words: ['and', 'to', 'above', 'below', 'on'], canEnd: true });
    expect(next('a red circle on a white background')).toEqual({ words: [], canEnd: true });
    expect(next('circle red')).toEqual({ words: [], canEnd: false });
  });
});

describe('prompt help while typing', () => {
  const v = vocabulary ?? { words: [], grammar: null };
  const help = (prompt: string) => promptHelp(prompt, v);

  it('completes the word being typed, or offers the next word; case and sentence punctuation are ignored', () => {
    expect(help('a red')).toEqual({ suggestions: classes.shapes, replace: 0, hint: null });
    expect(help('a red ')).toEqual({ suggestions: classes.shapes, replace: 0, hint: null });
    expect(help('a red cir')).toEqual({ suggestions: ['circle'], replace: 3, hint: null });
    expect(help('A Red CIR')).toEqual({ suggestions: ['circle'], replace: 3, hint: null });
    expect(help('a red circle.').hint).toBeNull();
    expect(help('a red circle ab').suggestions).toEqual(['above']);
    expect(help('').suggestions).toEqual(['a', 'an', 'two', 'three']);
    expect(withSuggestion('a red cir', help('a red cir'), 'circle')).toBe('a red circle');
    expect(withSuggestion('a red', help('a red'), 'circle')).toBe('a red circle');
    expect(withSuggestion('a red ', help('a red '), 'circle')).toBe('a red circle');
  });

  it('is quiet while the prompt can still become one; says what is wrong, as Generate does, once it cannot', () => {
    for (const p of ['', 'a', 'a red', 'a red ci', 'two gr', 'a red circle to the lef', 'a red circle on a white background.']) expect(help(p).hint, p).toBeNull();
    expect(help('a red blue').hint).toBe('Expected a shape ("circle", "square", "triangle", "star" or "heart") after "red", not "blue".');
    expect(help('a red blu').hint).toBe('Expected a shape ("circle", "square", "triangle", "star" or "heart") after "red", not "blu".');
    expect(help('circle red a blue').hint).toBe('Expected "a", "an", "two" or "three" at the start, not "circle".');
    expect(help('a red circle blue').hint).toMatch(/^"blue" cannot follow "circle"/);
    expect(help('a red ciclre').hint).toBe('This model does not know the word "ciclre" (did you mean "circle"?).');
    expect(help('a red zz circle').hint).toBe('This model does not know the word "zz".');
    expect(help('a red = ').hint).toBe('Only words are understood: "=".');
    for (const p of ['a red blue', 'a red circle blue']) expect(() => closedVocabularyText(p, v)).toThrow(help(p).hint ?? 'no hint');
  });

  it('without a grammar completes known words only, and never says anything of the order', () => {
    const wordsOnly = { words: ['a', 'red', 'circle'], grammar: null };
    expect(promptHelp('circle re', wordsOnly)).toEqual({ suggestions: ['red'], replace: 2, hint: null });
    expect(promptHelp('circle red a ', wordsOnly)).toEqual({ suggestions: [], replace: 0, hint: null });
  });
});
