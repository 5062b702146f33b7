/** VAE output → pixels, rounded exactly as distill/domain/render.py's tensor_to_images does in float32. */

export interface RgbaImage {
  width: number;
  height: number;
  /** RGBA, row-major, 4 bytes per pixel (ImageData's layout) */
  data: Uint8ClampedArray;
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** `sample` is [1, 3, H, W] in [−1, 1]. */
export function sampleToRgba(sample: Float32Array, height: number, width: number): RgbaImage {
  const plane = height * width;
  if (sample.length < 3 * plane) throw new RangeError(`decoder output has ${sample.length} values, expected 3×${height}×${width}`);
  const data = new Uint8ClampedArray(plane * 4);
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < plane; p++) {
      const x = Math.min(1, Math.max(-1, sample[c * plane + p] as number));
      data[p * 4 + c] = roundHalfEven(Math.fround(Math.fround(x + 1) * 127.5));
    }
  }
  for (let p = 0; p < plane; p++) data[p * 4 + 3] = 255;
  return { width, height, data };
}
