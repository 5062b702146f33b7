/**
 * Before/after table of two bench.json files (two builds measured on the same bundle):
 *   node .tmp-bench/compare.js before/bench.json after/bench.json "title" >> reports/BENCH_FIXES.md
 */

import { readFileSync } from 'node:fs';
import { renderComparison, type BenchResults } from './report.js';

const [before, after, title] = process.argv.slice(2);
if (!before || !after) {
  console.error('usage: compare.js BEFORE.json AFTER.json [TITLE]');
  process.exit(2);
}
const read = (p: string): BenchResults => JSON.parse(readFileSync(p, 'utf8')) as BenchResults;
process.stdout.write(renderComparison(read(before).recipes, read(after).recipes, title ?? `${before} → ${after}`));
