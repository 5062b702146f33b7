/**
 * A new session against the bundle it belongs to, by the inputs, outputs, shapes and dtypes the session reports,
 * so that a folder the app cannot run is refused when it opens, naming the file and the input, instead of failing
 * inside onnxruntime at the first Generate. A manifest bundle states its shapes, so a graph that disagrees is
 * refused; a standard folder's spec only guesses them from config files, so there the graph's fixed dims win.
 */

import type { BackendInfo } from './backend';
import type { BundleSpec } from './bundle';
import { ModelError } from './errors';
import type { InputMeta, ModelSession } from './runtime';
import { fixedDim, meta, penultimateHiddenStates } from './tensors';

const UNET_INPUTS = ['sample', 'timestep', 'encoder_hidden_states'];
/** SDXL's added conditioning (diffusers' addition_embed_type "text_time") */
export const SDXL_UNET_INPUTS = ['text_embeds', 'time_ids'];
const TIMESTEP_TYPES = ['float32', 'float16', 'int64', 'int32'];

/**
 * Throws a ModelError naming what does not fit; otherwise returns the spec to use from now on, always a new
 * object with its own shape arrays: the caller's spec is never written to, so a session that fails later
 * checks leaves no shapes behind.
 */
export function checkSession(spec: Readonly<BundleSpec>, path: string, session: ModelSession, backend: BackendInfo): BundleSpec {
  const adopted: BundleSpec = { ...spec, imageSize: [...spec.imageSize], latentShape: [...spec.latentShape] };
  const derived = spec.source === 'diffusers';
  checkPrecision(path, session, backend);
  if (path === spec.textEncoder || path === spec.sdxl?.textEncoder2) {
    checkTextEncoder(spec, path, session);
    return adopted;
  }
  if (path === spec.vaeDecoder) {
    expectInputs(path, session, ['latent_sample'], 'the VAE decoder');
    const out = session.outputs[0];
    const [h, w] = [out ? fixedDim(out, 2) : null, out ? fixedDim(out, 3) : null];
    if (h && w && (h !== spec.imageSize[0] || w !== spec.imageSize[1])) {
      if (!derived) throw new ModelError(path, `decodes ${h}×${w} images; manifest.json says image_size [${spec.imageSize.join(', ')}]`);
      adopted.imageSize = [h, w];
    }
    return adopted;
  }
  if (path === spec.vaeDecoderTiny) {
    checkTinyDecoder(spec, path, session);
    return adopted;
  }
  checkUnetInputs(spec, path, session);
  const sample = meta(session, 'sample');
  const dims = [1, 2, 3].map((a) => fixedDim(sample, a));
  dims.forEach((d, i) => {
    if (d === null || d === spec.latentShape[i]) return;
    if (!derived) {
      throw new ModelError(path, `input "sample" is [${sample.shape?.join(', ')}]; manifest.json says latent_shape [${spec.latentShape.join(', ')}]`);
    }
    adopted.latentShape[i] = d;
  });
  return adopted;
}

/** fp16 inputs or outputs (optimum's --dtype fp16 makes them all fp16, the text encoder's outputs too). */
function checkPrecision(path: string, session: ModelSession, backend: BackendInfo): void {
  if (backend.kind === 'webgpu' && backend.shaderF16) return;
  const half = [...session.inputs.map((m) => ['input', m] as const), ...session.outputs.map((m) => ['output', m] as const)].filter(([, m]) => m.type === 'float16');
  if (half.length === 0) return;
  const named = half.map(([kind, m]) => `${kind} "${m.name}"`).join(', ');
  throw new ModelError(path, `computes in float16, which needs WebGPU with shader-f16; this browser runs it in fp32 only (float16: ${named})`);
}

/** Exactly `expected`: a graph that takes more would be run without feeds it needs. */
function expectInputs(path: string, session: ModelSession, expected: readonly string[], what: string): void {
  for (const name of expected) meta(session, name);
  const extra = session.inputs.filter((m) => !expected.includes(m.name));
  if (extra.length > 0) {
    const names = extra.map((m) => `"${m.name}"`).join(', ');
    throw new ModelError(path, `has input${extra.length === 1 ? '' : 's'} ${names}, which this app does not feed ${what} (it feeds ${expected.join(', ')})`);
  }
}

/**
 * The tiny decoder stands in for the full one, so it must take the same latents and make images of the same size:
 * any dimension it fixes must be the bundle's.
 */
function checkTinyDecoder(spec: Readonly<BundleSpec>, path: string, session: ModelSession): void {
  expectInputs(path, session, ['latent_sample'], 'the tiny VAE decoder');
  const latent = meta(session, 'latent_sample');
  const dims = [1, 2, 3].map((a) => fixedDim(latent, a));
  if (dims.some((d, i) => d !== null && d !== spec.latentShape[i])) {
    throw new ModelError(path, `input "latent_sample" is [${latent.shape?.join(', ')}]; the bundle's latents are [${spec.latentShape.join(', ')}] (latent_shape)`);
  }
  const out = session.outputs[0];
  const size = [2, 3].map((a) => (out ? fixedDim(out, a) : null));
  const channels = out ? fixedDim(out, 1) : null;
  if ((channels !== null && channels !== 3) || size.some((d, i) => d !== null && d !== spec.imageSize[i])) {
    throw new ModelError(path, `outputs [${out?.shape?.join(', ')}]; the full decoder's images are [3, ${spec.imageSize.join(', ')}] (image_size)`);
  }
}

function checkTextEncoder(spec: Readonly<BundleSpec>, path: string, session: ModelSession): void {
  expectInputs(path, session, ['input_ids'], 'a text encoder');
  const ids = meta(session, 'input_ids');
  if (ids.type !== 'int64' && ids.type !== 'int32') throw new ModelError(path, `input "input_ids" has type ${ids.type}; int64 or int32 expected`);
  if (!spec.sdxl) return;
  if (penultimateHiddenStates(session) === null) {
    throw new ModelError(path, 'has no hidden_states.<layer> outputs, which an SDXL UNet is conditioned on (export it with optimum-cli, which adds them)');
  }
  if (path === spec.sdxl.textEncoder2 && !session.outputs.some((o) => o.name === 'text_embeds')) {
    throw new ModelError(path, 'has no output "text_embeds" (the pooled embedding an SDXL UNet takes): a CLIPTextModelWithProjection export is needed');
  }
}

function checkUnetInputs(spec: Readonly<BundleSpec>, path: string, session: ModelSession): void {
  const names = new Set(session.inputs.map((m) => m.name));
  const takesSdxl = SDXL_UNET_INPUTS.some((n) => names.has(n));
  if (takesSdxl && !spec.sdxl) {
    throw new ModelError(path, 'takes "text_embeds" and "time_ids" (an SDXL UNet), but the folder has no text_encoder_2 and tokenizer_2 to make them');
  }
  if (spec.sdxl && !takesSdxl) {
    throw new ModelError(path, 'has no inputs "text_embeds" and "time_ids": model_index.json describes an SDXL pipeline, whose UNet takes them');
  }
  expectInputs(path, session, spec.sdxl ? [...UNET_INPUTS, ...SDXL_UNET_INPUTS] : UNET_INPUTS, 'a UNet');
  const t: InputMeta = meta(session, 'timestep');
  if (!TIMESTEP_TYPES.includes(t.type)) throw new ModelError(path, `input "timestep" has type ${t.type}; float32, float16, int64 or int32 expected`);
  if (t.shape !== null && t.shape.length > 1) throw new ModelError(path, `input "timestep" has rank ${t.shape.length} ([${t.shape.join(', ')}]); a scalar or one value per batch row expected`);
}
