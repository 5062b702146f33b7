/**
 * Python's json module writes float('inf') and float('nan') as bare Infinity / -Infinity / NaN, and
 * diffusers configs contain them (e.g. DPM-Solver's "lambda_min_clipped": -Infinity). JSON.parse
 * rejects those, so they are read as numbers here; everything else is strict JSON.
 */

const NON_FINITE: Record<string, string> = {
  Infinity: '1e999',
  '-Infinity': '-1e999',
  NaN: 'null',
};

/** Rewrites bare non-finite tokens outside string literals; JSON.parse turns 1e999 into ±Infinity. */
function rewriteNonFinite(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const token = ['-Infinity', 'Infinity', 'NaN'].find((tok) => text.startsWith(tok, i));
    if (token) {
      out += NON_FINITE[token];
      i += token.length;
      continue;
    }
    out += ch;
    i++;
  }
  return out;
}

export function parsePythonJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (strictError) {
    if (!/NaN|Infinity/.test(text)) throw strictError;
    return JSON.parse(rewriteNonFinite(text));
  }
}
