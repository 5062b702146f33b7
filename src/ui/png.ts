import type { RgbaImage } from '../pipeline/image';

/** Paints `image` at its own size; CSS does the upscaling (smooth or pixelated). */
export function paint(canvas: HTMLCanvasElement, image: RgbaImage): void {
  canvas.width = image.width;
  canvas.height = image.height;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.putImageData(new ImageData(new Uint8ClampedArray(image.data), image.width, image.height), 0, 0);
}

export function pngFileName(prompt: string, seed: number, label: string): string {
  const slug = prompt.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 48) || 'image';
  return `imagine-flash_${slug}_${label}_seed${seed}.png`;
}

/** Saves the image as a PNG at its native resolution. */
export async function downloadPng(image: RgbaImage, fileName: string): Promise<void> {
  const canvas = document.createElement('canvas');
  paint(canvas, image);
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/png'));
  if (!blob) return;
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
