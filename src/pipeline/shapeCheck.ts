/**
 * A new session against the bundle it belongs to, by the shapes and dtypes the session reports. A manifest
 * bundle states its shapes, so a graph that disagrees is refused; a standard folder's spec only guesses them
 * from config files, so there the graph's fixed dims win.
 */

import type { BackendInfo } from './backend';
import type { BundleSpec } from './bundle';
import { ModelError } from './errors';
import type { ModelSession } from './runtime';
import { fixedDim, meta } from './tensors';

/**
 * Throws a ModelError naming what does not fit; otherwise returns the spec to use from now on, always a new
 * object with its own shape arrays: the caller's spec is never written to, so a session that fails later
 * checks leaves no shapes behind.
 */
export function checkSession(spec: Readonly<BundleSpec>, path: string, session: ModelSession, backend: BackendInfo): BundleSpec {
  const adopted: BundleSpec = { ...spec, imageSize: [...spec.imageSize], latentShape: [...spec.latentShape] };
  const derived = spec.source === 'diffusers';
  if (path === spec.textEncoder) {
    meta(session, 'input_ids');
    return adopted;
  }
  if (path === spec.vaeDecoder) {
    const out = session.outputs[0];
    const [h, w] = [out ? fixedDim(out, 2) : null, out ? fixedDim(out, 3) : null];
    if (h && w && (h !== spec.imageSize[0] || w !== spec.imageSize[1])) {
      if (!derived) throw new ModelError(path, `decodes ${h}×${w} images; manifest.json says image_size [${spec.imageSize.join(', ')}]`);
      adopted.imageSize = [h, w];
    }
    return adopted;
  }
  const sample = meta(session, 'sample');
  meta(session, 'timestep');
  meta(session, 'encoder_hidden_states');
  const dims = [1, 2, 3].map((a) => fixedDim(sample, a));
  dims.forEach((d, i) => {
    if (d === null || d === spec.latentShape[i]) return;
    if (!derived) {
      throw new ModelError(path, `input "sample" is [${sample.shape?.join(', ')}]; manifest.json says latent_shape [${spec.latentShape.join(', ')}]`);
    }
    adopted.latentShape[i] = d;
  });
  if (sample.type === 'float16' && !(backend.kind === 'webgpu' && backend.shaderF16)) {
    throw new ModelError(path, 'computes in float16, which needs WebGPU with shader-f16; this browser runs it in fp32 only');
  }
  return adopted;
}
