/**
 * Tokenization with transformers.js from the bundle's own (already verified) tokenizer files: no hub,
 * no network. Padding and truncation are done here, the way Python's fast tokenizers do them for CLIP
 * (truncate the text, keep the closing special token, pad with pad_token to the context length), because
 * transformers.js cuts the end token off when it truncates.
 */

import { AutoTokenizer, PreTrainedTokenizer } from '@huggingface/transformers';
import { BundleFormatError } from './bundle';
import { isRecord } from './manifest';

export interface PromptTokenizer {
  /** ids with the tokenizer's special tokens, unpadded and untruncated */
  encode(text: string): number[];
  padId: number;
  specialIds: ReadonlySet<number>;
}

export interface Tokenized {
  ids: number[];
  /** tokens the prompt needs, special tokens included */
  tokenCount: number;
  truncated: boolean;
}

type TokenizerClass = typeof PreTrainedTokenizer;

export function createTokenizer(json: unknown, config: unknown, file = 'tokenizer/tokenizer.json'): PromptTokenizer {
  if (!isRecord(json) || !isRecord(json.model)) throw new BundleFormatError(file, 'is not a tokenizers JSON file');
  const cfg = isRecord(config) ? config : {};
  const name = typeof cfg.tokenizer_class === 'string' ? cfg.tokenizer_class.replace(/Fast$/, '') : '';
  const mapping = AutoTokenizer.TOKENIZER_CLASS_MAPPING as Record<string, TokenizerClass | undefined>;
  const Cls = mapping[name] ?? PreTrainedTokenizer;
  let tok: PreTrainedTokenizer;
  try {
    tok = new Cls(json, cfg);
  } catch (err) {
    throw new BundleFormatError(file, `cannot be read by transformers.js (${err instanceof Error ? err.message : String(err)})`);
  }
  const padId = tok.pad_token_id ?? tok.eos_token_id;
  if (typeof padId !== 'number') throw new BundleFormatError(file, 'has neither a pad token nor an end token');
  return {
    encode: (text) => tok.encode(text),
    padId,
    specialIds: new Set(tok.all_special_ids),
  };
}

export function tokenizeForModel(tok: PromptTokenizer, text: string, contextLength: number): Tokenized {
  const full = tok.encode(text);
  const tokenCount = full.length;
  let ids = full;
  if (full.length > contextLength) {
    const last = full[full.length - 1] as number;
    ids = tok.specialIds.has(last) ? [...full.slice(0, contextLength - 1), last] : full.slice(0, contextLength);
  }
  const padded = ids.concat(Array<number>(contextLength - ids.length).fill(tok.padId));
  return { ids: padded, tokenCount, truncated: full.length > contextLength };
}
