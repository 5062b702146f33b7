/**
 * Standard SD exports often ship CLIP's slow-tokenizer files only (vocab.json + merges.txt, no
 * tokenizer.json). transformers.js needs the tokenizers-JSON form; this builds the one Python's
 * CLIPTokenizerFast conversion writes, so both give the same ids.
 */

import { BundleFormatError } from './bundle';
import { isRecord } from './manifest';

function tokenName(v: unknown, fallback: string): string {
  if (typeof v === 'string') return v;
  if (isRecord(v) && typeof v.content === 'string') return v.content;
  return fallback;
}

export function parseMerges(text: string): [string, string][] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#version'))
    .map((line) => {
      const [a, b] = line.split(' ');
      return [a ?? '', b ?? ''];
    });
}

export function clipTokenizerJson(vocab: unknown, mergesText: string, config: unknown, dir = 'tokenizer'): Record<string, unknown> {
  if (!isRecord(vocab)) throw new BundleFormatError(`${dir}/vocab.json`, 'is not a JSON object');
  const cfg = isRecord(config) ? config : {};
  const bos = tokenName(cfg.bos_token, '<|startoftext|>');
  const eos = tokenName(cfg.eos_token, '<|endoftext|>');
  const id = (t: string): number => {
    const v = vocab[t];
    if (typeof v !== 'number') throw new BundleFormatError(`${dir}/vocab.json`, `has no id for ${t}`);
    return v;
  };
  const special = (t: string) => ({ id: id(t), content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(bos), special(eos)],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }] },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        {
          type: 'Split',
          pattern: { Regex: "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+" },
          behavior: 'Removed',
          invert: true,
        },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      ],
    },
    post_processor: { type: 'RobertaProcessing', sep: [eos, id(eos)], cls: [bos, id(bos)], trim_offsets: false, add_prefix_space: false },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: tokenName(cfg.unk_token, eos),
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: parseMerges(mergesText),
    },
  };
}
