/**
 * Two builds of the app side by side in one browser, generations alternating between them (A B, B A, …) on the
 * same bundle, prompts and seeds: before/after ratios that machine noise affects equally.
 *   make bench-ab A=/tmp/dist-before B=dist RECIPES=flash-3,teacher RUNS=16
 * A report, never a test: it prints (and with --out appends) a Markdown table of medians and B/A ratios. flash-1-tiny
 * (flash-1 with the tiny VAE decoder) runs as plain flash-1 on a build or bundle without one, so against a build from
 * before it, it compares today's flash-1 with flash-1 on the tiny decoder; both pages open with ?live=0.
 */

import { appendFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from '@playwright/test';
import { generateOnce, launch, openReady, startPreview, summarize, type Recipe, type Sample } from './browser.js';
import { RECIPE_IDS, renderComparison, TINY_RECIPE, type RecipeId } from './report.js';

const PROMPTS = ['a red circle to the left of a blue square', 'two yellow stars on a black background', 'a large green triangle above a small purple heart'];

function recipeOf(id: string): Recipe {
  if (!(RECIPE_IDS as readonly string[]).includes(id)) throw new Error(`unknown recipe "${id}"; known: ${RECIPE_IDS.join(', ')}`);
  const rid = id as RecipeId;
  if (rid === 'teacher') return { id: rid, label: 'teacher', model: 'teacher', steps: 25 };
  if (rid === TINY_RECIPE) return { id: rid, label: rid, model: 'flash', steps: 1, decoder: 'tiny' };
  return { id: rid, label: rid, model: 'flash', steps: Number(rid.slice(-1)) };
}

/** Whether the page offers the tiny decoder: a build before it (or a bundle without one) runs flash-1-tiny as flash-1. */
async function offersTiny(page: Page): Promise<boolean> {
  return (await page.locator('[role=radiogroup][aria-label=Decoder]').count()) > 0;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      a: { type: 'string' },
      b: { type: 'string' },
      bundle: { type: 'string', default: 'models/shapescenes' },
      recipes: { type: 'string', default: 'flash-3,teacher' },
      runs: { type: 'string', default: '16' },
      out: { type: 'string' },
    },
  });
  if (!values.a || !values.b) throw new Error('usage: ab.js --a DIST_BEFORE --b DIST_AFTER [--bundle DIR] [--recipes flash-3,teacher] [--runs 16] [--out FILE.md]');
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a whole number ≥ 1, not "${values.runs}"`);
  const recipes = values.recipes.split(',').map(recipeOf);
  const bundleDir = resolve(values.bundle);
  const builds = [resolve(values.a), resolve(values.b)];
  const servers = await Promise.all(builds.map((dist, i) => startPreview(dirname(bundleDir), dist, 4191 + i)));
  const browser = await launch(false);
  try {
    const pages: Page[] = [];
    const notes: string[] = [];
    for (const [i] of builds.entries()) {
      const page = await (await browser.newContext()).newPage();
      await openReady(page, `http://127.0.0.1:${4191 + i}/?bundle=${encodeURIComponent(basename(bundleDir))}&backend=wasm&live=0`);
      if (recipes.some((r) => r.decoder === 'tiny') && !(await offersTiny(page))) notes.push(`${i === 0 ? 'A' : 'B'} has no tiny decoder: its ${TINY_RECIPE} is flash-1 with the full decoder`);
      for (const r of recipes) for (let k = 0; k < 2; k++) await generateOnce(page, r, 900 + k, PROMPTS[0] as string, 'full'); // warm-up
      pages.push(page);
    }
    const samples = builds.map(() => new Map<RecipeId, Sample[]>(recipes.map((r) => [r.id, []])));
    for (let i = 0; i < runs; i++) {
      const order = i % 2 === 0 ? [0, 1] : [1, 0];
      for (const r of recipes) {
        for (const b of order) samples[b]?.get(r.id)?.push(await generateOnce(pages[b] as Page, r, 1000 + i, PROMPTS[i % PROMPTS.length] as string, 'full'));
      }
      console.log(`[ab] round ${i + 1}/${runs}`);
    }
    const results = samples.map((byRecipe) => recipes.map((r) => summarize(r, byRecipe.get(r.id) ?? [])));
    const title = `A/B on ${basename(bundleDir)}, ${runs} alternating runs per build and recipe (${new Date().toISOString()}): A = ${values.a}, B = ${values.b}${notes.length ? ` (${notes.join('; ')})` : ''}`;
    const table = renderComparison(results[0] ?? [], results[1] ?? [], title).replace('before ms | after ms | after / before', 'A ms | B ms | B / A');
    process.stdout.write(table);
    if (values.out) appendFileSync(values.out, `\n${table}`);
  } finally {
    await browser.close();
    servers.forEach((s) => s.kill());
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
