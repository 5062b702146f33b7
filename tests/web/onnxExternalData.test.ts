import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BundleFormatError } from '../../src/pipeline/bundle';
import { externalDataFiles } from '../../src/pipeline/onnxExternalData';

const fixture = (path: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../fixtures/${path}`, import.meta.url)));

/** One external_data entry as protobuf writes it: 0x0a 0x08 "location" 0x12 <len> <path>. */
function entry(path: string): Uint8Array {
  const p = new TextEncoder().encode(path);
  return new Uint8Array([0x0a, 0x08, ...new TextEncoder().encode('location'), 0x12, p.length, ...p]);
}

describe('externalDataFiles', () => {
  it("finds the weights file of tiny-sd's UNet (saved like optimum's >2 GB exports) once", () => {
    expect(externalDataFiles(fixture('tiny-sd/unet/model.onnx'), 'unet/model.onnx')).toEqual(['model.onnx_data']);
  });

  it('finds none in self-contained graphs', () => {
    expect(externalDataFiles(fixture('tiny-sd/text_encoder/model.onnx'), 'text_encoder/model.onnx')).toEqual([]);
    expect(externalDataFiles(fixture('tiny-bundle/unet/model.onnx'), 'unet/model.onnx')).toEqual([]);
  });

  it('lists several distinct files in order and ignores look-alike bytes that are not text', () => {
    const junk = new Uint8Array([...entry('a.bin').subarray(0, 11), 2, 0xff, 0xfe]);
    const bytes = new Uint8Array([1, 2, ...entry('weights.pb'), ...junk, ...entry('b/c.bin'), ...entry('weights.pb')]);
    expect(externalDataFiles(bytes, 'unet/model.onnx')).toEqual(['weights.pb', 'b/c.bin']);
  });

  it('refuses a path that leaves the model folder, naming the model', () => {
    expect(() => externalDataFiles(entry('../../secret'), 'unet/model.onnx')).toThrow(BundleFormatError);
    expect(() => externalDataFiles(entry('/etc/passwd'), 'unet/model.onnx')).toThrow(/unet\/model.onnx: refers to external data "\/etc\/passwd"/);
  });
});
