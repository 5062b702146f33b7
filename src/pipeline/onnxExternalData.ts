/**
 * ONNX models over 2 GB (e.g. an fp32 Stable Diffusion UNet exported by optimum) keep their weights in
 * files beside the graph: each TensorProto names its file in an `external_data` entry
 * {key: "location", value: <path relative to the model>}. onnxruntime-web cannot read files itself, so the
 * loader finds those names in the graph's bytes, reads the files, and hands them to the session.
 */

import { BundleFormatError, isSafeRelativePath } from './bundle';

// StringStringEntryProto { key (field 1) = "location", value (field 2) = … }: 0x0a 0x08 "location" 0x12 <len> <utf-8>
const KEY = new Uint8Array([0x0a, 0x08, ...new TextEncoder().encode('location'), 0x12]);

function varint(bytes: Uint8Array, at: number): { value: number; next: number } | null {
  let value = 0;
  for (let shift = 0, i = at; i < bytes.length && shift < 35; shift += 7, i++) {
    const b = bytes[i] as number;
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return { value, next: i + 1 };
  }
  return null;
}

/** The distinct external-data files a model's graph refers to (paths relative to the model's folder). */
export function externalDataFiles(model: Uint8Array, file: string): string[] {
  const found = new Set<string>();
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const first = KEY[0] as number;
  for (let i = model.indexOf(first); i !== -1 && i + KEY.length < model.length; i = model.indexOf(first, i + 1)) {
    let match = true;
    for (let k = 1; k < KEY.length && match; k++) match = model[i + k] === KEY[k];
    if (!match) continue;
    const len = varint(model, i + KEY.length);
    if (!len || len.value === 0 || len.next + len.value > model.length) continue;
    let path: string;
    try {
      path = decoder.decode(model.subarray(len.next, len.next + len.value));
    } catch {
      continue; // not text: these bytes were weights that happened to look like the key
    }
    if (!isSafeRelativePath(path)) throw new BundleFormatError(file, `refers to external data "${path}", which is not a path inside its folder`);
    found.add(path);
  }
  return [...found];
}
