import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkGrammar, examplePrompts, type GrammarClasses, type PromptMeaning } from '../../src/pipeline/grammar';
import { parseManifest } from '../../src/pipeline/manifest';
import { closedVocabularyText } from '../../src/pipeline/promptCheck';
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

/** What distill/data.py's parse_prompt makes of each prompt (tests/web/grammar_vectors.py). */
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

  it(`agrees with distill/data.py's parse_prompt on ${vectors.length} exported prompts: meaning, or the word it stops at`, () => {
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
  });
});
