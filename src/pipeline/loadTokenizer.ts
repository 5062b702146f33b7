/**
 * The prompt tokenizer from a bundle's files: tokenizer.json with its config, or, for a standard folder
 * that has only CLIP's vocab.json + merges.txt, those converted to the same JSON (clipTokenizer.ts).
 * A manifest bundle gets no fallback: it lists its files, so a missing tokenizer.json there is a broken
 * bundle, not another layout.
 */

import { BundleFormatError, joinPath, tokenizerFiles, type BundleSpec } from './bundle';
import type { BundleReader } from './bundleReader';
import { clipTokenizerJson } from './clipTokenizer';
import { isAbortError } from './errors';
import { BundleFileError, decodeText } from './files';
import { parsePythonJson } from './json';
import { createTokenizer, type PromptTokenizer } from './tokenizer';

export async function loadTokenizer(spec: Pick<BundleSpec, 'tokenizer'>, reader: BundleReader, signal?: AbortSignal): Promise<PromptTokenizer> {
  const tok = tokenizerFiles(spec);
  const text = async (path: string): Promise<string> => decodeText(await reader.read(path, { signal }));
  const json = async (path: string): Promise<unknown> => {
    try {
      return parsePythonJson(await text(path));
    } catch (err) {
      if (err instanceof BundleFileError || isAbortError(err)) throw err;
      throw new BundleFormatError(path, 'is not valid JSON');
    }
  };
  const config = await json(tok.config);
  let tokenizerJson: unknown;
  try {
    tokenizerJson = await json(tok.json);
  } catch (err) {
    const missing = err instanceof BundleFileError && err.reason.includes('HTTP 404');
    if (!missing || reader.verified) throw err;
    const dir = spec.tokenizer;
    const slow = async <T>(read: Promise<T>): Promise<T> =>
      read.catch((e: unknown) => {
        if (e instanceof BundleFileError && e.reason.includes('HTTP 404')) {
          throw new BundleFileError(e.file, `is missing (HTTP 404): ${dir}/ has neither tokenizer.json nor vocab.json with merges.txt`);
        }
        throw e;
      });
    tokenizerJson = clipTokenizerJson(await slow(json(joinPath(dir, 'vocab.json'))), await slow(text(joinPath(dir, 'merges.txt'))), config, dir);
  }
  return createTokenizer(tokenizerJson, config, tok.json);
}
