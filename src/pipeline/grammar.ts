/**
 * The ShapeScenes prompt grammar, the same as distill/domain/grammar.py's parse_prompt (DESIGN.md, "ShapeScenes"):
 *
 *   prompt     = (object [connective object] | count color plural-shape) [on a <background> background]
 *   object     = (a | an) [size] color shape
 *   connective = and | <relation>
 *
 * The model saw only prompts of this form, so words in any other order give an arbitrary image; the
 * word classes come from the bundle's manifest. Agreement of "a"/"an" is not checked, as in Python.
 */

import { clipWord } from './vocabulary';

/** The word classes a manifest lists next to its vocabulary (distill/export/export.py). */
export interface GrammarClasses {
  colors: string[];
  shapes: string[];
  sizes: string[];
  backgrounds: string[];
  /** phrases of one or more words: "above", "to the left of" */
  relations: string[];
  counts: string[];
}

export interface ObjectMeaning {
  size: string | null;
  color: string;
  shape: string;
}

/** The structured meaning shared/eval's prompt files carry: a count repeats its object. */
export interface PromptMeaning {
  objects: ObjectMeaning[];
  relation: string | null;
  background: string | null;
}

export type GrammarCheck =
  | { ok: true; meaning: PromptMeaning }
  /** `at`: index of the offending word (words.length when the prompt ended too soon) */
  | { ok: false; at: number; message: string };

const ARTICLES = ['a', 'an'];
const NUMBERS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];

/**
 * Thrown by the parser and caught by checkGrammar only, so no Error: capturing a stack trace would be most
 * of the cost of nextWords, which parses a prefix once per candidate word.
 */
class GrammarMismatch {
  constructor(
    readonly at: number,
    readonly message: string,
  ) {}
}

function list(words: readonly string[]): string {
  const q = words.map((w) => `"${w}"`);
  return q.length <= 1 ? (q[0] ?? '') : `${q.slice(0, -1).join(', ')} or ${q.at(-1) as string}`;
}

/** Reads `words` (lowercase, punctuation already dropped) from left to right, as parse_prompt does. */
class Reader {
  pos = 0;
  constructor(private readonly words: readonly string[]) {}

  peek(k = 0): string | undefined {
    return this.words[this.pos + k];
  }

  fail(what: string): never {
    const got = this.peek();
    const where = this.pos === 0 ? 'at the start' : `after "${clipWord(this.words[this.pos - 1] as string)}"`;
    const tail = got === undefined ? ', but the prompt ends there' : `, not "${clipWord(got)}"`;
    throw new GrammarMismatch(this.pos, `Expected ${what} ${where}${tail}.`);
  }

  expect(options: readonly string[], what: string): string {
    const w = this.peek();
    if (w === undefined || !options.includes(w)) this.fail(what);
    this.pos += 1;
    return w;
  }

  /** The relation phrase starting here, or null when no phrase starts with this word. */
  relation(relations: readonly string[]): string | null {
    let candidates = relations.map((r) => r.split(' '));
    if (!candidates.some((c) => c[0] === this.peek())) return null;
    for (let i = 0; ; i++) {
      const done = candidates.find((c) => c.length === i);
      if (done) return done.join(' ');
      const next = [...new Set(candidates.map((c) => c[i] as string))];
      this.expect(next, list(next));
      candidates = candidates.filter((c) => c[i] === this.words[this.pos - 1]);
    }
  }
}

function parse(words: readonly string[], g: GrammarClasses): PromptMeaning {
  const r = new Reader(words);
  const plurals = g.shapes.map((s) => `${s}s`);
  const colors = `a color (${list(g.colors)})`;
  const object = (): ObjectMeaning => {
    r.expect(ARTICLES, list(ARTICLES));
    const size = g.sizes.includes(r.peek() ?? '') ? r.expect(g.sizes, 'a size') : null;
    const color = r.expect(g.colors, size === null ? `a size or ${colors}` : colors);
    return { size, color, shape: r.expect(g.shapes, `a shape (${list(g.shapes)})`) };
  };

  let objects: ObjectMeaning[];
  let relation: string | null = null;
  /** what may come next where the prompt could also end */
  let next: string[] = [];
  const first = r.peek();
  if (first !== undefined && g.counts.includes(first)) {
    const n = Math.max(1, NUMBERS.indexOf(r.expect(g.counts, 'a count')));
    const color = r.expect(g.colors, colors);
    const shape = r.expect(plurals, `a plural shape (${list(plurals)})`).slice(0, -1);
    objects = Array.from({ length: n }, () => ({ size: null, color, shape }));
  } else {
    if (!ARTICLES.includes(first ?? '')) r.fail(list([...ARTICLES, ...g.counts]));
    objects = [object()];
    if (r.peek() === 'and') {
      r.pos += 1;
      objects.push(object());
    } else {
      relation = r.relation(g.relations);
      if (relation === null) next = ['and', ...g.relations];
      else objects.push(object());
    }
  }
  let background: string | null = null;
  if (r.peek() === 'on') {
    r.pos += 1;
    r.expect(['a'], '"a"');
    background = r.expect(g.backgrounds, `a background color (${list(g.backgrounds)})`);
    r.expect(['background'], '"background"');
  } else {
    next.push('on a … background');
  }
  const extra = r.peek();
  if (extra !== undefined) {
    const then = background === null ? `end there or go on with ${list(next)}` : 'end there';
    throw new GrammarMismatch(r.pos, `"${clipWord(extra)}" cannot follow "${clipWord(words[r.pos - 1] as string)}": the prompt should ${then}.`);
  }
  return { objects, relation, background };
}

/** Whether `words` form a ShapeScenes prompt, and what it means. */
export function checkGrammar(words: readonly string[], classes: GrammarClasses): GrammarCheck {
  try {
    return { ok: true, meaning: parse(words, classes) };
  } catch (err) {
    if (err instanceof GrammarMismatch) return { ok: false, at: err.at, message: err.message };
    throw err;
  }
}

/** Every word the grammar may place somewhere, in the order a suggestion list shows them. */
function grammarWords(g: GrammarClasses): string[] {
  const phrases = g.relations.flatMap((r) => r.split(' '));
  const all = [...ARTICLES, ...g.counts, ...g.sizes, ...g.colors, ...g.shapes, ...g.shapes.map((s) => `${s}s`), 'and', ...phrases, 'on', ...g.backgrounds, 'background'];
  return [...new Set(all)];
}

/** Whether `words` are the start of some prompt (or a whole one): the parser only stopped for want of words. */
export function isPromptPrefix(words: readonly string[], g: GrammarClasses): boolean {
  const r = checkGrammar(words, g);
  return r.ok || r.at === words.length;
}

export interface NextWords {
  /** the words that may come next, in the grammar's order; empty when `words` is no prompt's start */
  words: string[];
  /** whether `words` are already a whole prompt */
  canEnd: boolean;
}

/**
 * What may follow `words` (complete words, lowercase): the grammar is read left to right with one
 * word of look-ahead, so a word may follow exactly when the prefix with it still only lacks words.
 */
export function nextWords(words: readonly string[], g: GrammarClasses): NextWords {
  if (!isPromptPrefix(words, g)) return { words: [], canEnd: false };
  return { words: grammarWords(g).filter((w) => isPromptPrefix([...words, w], g)), canEnd: checkGrammar(words, g).ok };
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}

/** `count` (at most 4) prompts of the grammar in the bundle's own words: two under a refused prompt, more to click. */
export function examplePrompts(g: GrammarClasses, count = 2): string[] {
  const pick = (xs: readonly string[], i: number): string => xs[i % xs.length] as string;
  const [c0, c1, s0, s1] = [pick(g.colors, 0), pick(g.colors, 4), pick(g.shapes, 0), pick(g.shapes, 1)];
  const connective = g.relations[0] ?? 'and';
  const out = [`${article(c0)} ${c0} ${s0} ${connective} ${article(c1)} ${c1} ${s1}`];
  if (g.counts.length > 0) out.push(`${g.counts[0] as string} ${pick(g.colors, 3)} ${pick(g.shapes, 3)}s`);
  else if (g.backgrounds.length > 0) out.push(`${article(c1)} ${c1} ${s0} on a ${g.backgrounds.at(-1) as string} background`);
  const [c2, c5, c6, s2, s4] = [pick(g.colors, 2), pick(g.colors, 5), pick(g.colors, 6), pick(g.shapes, 2), pick(g.shapes, 4)];
  const sized = g.sizes.length > 0 ? `${article(g.sizes.at(-1) as string)} ${g.sizes.at(-1) as string} ${c5}` : `${article(c5)} ${c5}`;
  const backdrop = g.backgrounds.length > 0 ? ` on a ${g.backgrounds.at(-1) as string} background` : '';
  out.push(`${sized} ${s4}${backdrop}`, `${article(c2)} ${c2} ${s2} and ${article(c6)} ${c6} ${s0}`);
  return out.slice(0, count);
}
