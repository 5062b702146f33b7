import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BundleFormatError } from '../../src/pipeline/bundle';
import { BundleFileError, readVerifiedFile, verifyBytes, type FileIo } from '../../src/pipeline/files';
import { floatsToHalf, fromHalfBits, halfToFloats, toHalfBits } from '../../src/pipeline/half';
import { parsePythonJson } from '../../src/pipeline/json';
import { parseManifest, parseSchedulerConfig } from '../../src/pipeline/manifest';
import { openBundle } from '../../src/pipeline/openBundle';
import { dpmTimesteps, linspaceTimesteps } from '../../src/pipeline/sdFolder';
import { BASE, fixtureBytes, memoryCaches, nodeIo } from './helpers/nodeIo';

const manifest = (): Record<string, unknown> => JSON.parse(new TextDecoder().decode(fixtureBytes('tiny-bundle/manifest.json'))) as Record<string, unknown>;
const base = `${BASE}tiny-bundle/`;

function expectManifestError(edit: (m: Record<string, unknown>) => void, message: RegExp): void {
  const m = manifest();
  edit(m);
  let err: unknown;
  try {
    parseManifest(m, base);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(BundleFormatError);
  expect((err as BundleFormatError).file).toBe('manifest.json');
  expect((err as Error).message).toMatch(message);
}

describe('manifest.json', () => {
  it('parses the tiny bundle: sizes, shared parts, every UNet with its recipe', () => {
    const { spec, schedulerConfig } = parseManifest(manifest(), base);
    expect(spec).toMatchObject({ source: 'manifest', imageSize: [64, 64], latentShape: [4, 16, 16], vaeScalingFactor: 0.5, contextLength: 77 });
    expect(schedulerConfig).toBe('scheduler/scheduler_config.json');
    expect(spec.unets.map((u) => [u.id, u.role, u.recipe.sampler, u.recipe.timesteps.length])).toEqual([
      ['teacher', 'teacher', 'dpmsolver++', 25],
      ['flash-1', 'flash', 'ddim', 1],
      ['flash-2', 'flash', 'ddim', 2],
      ['flash-3', 'flash', 'ddim', 3],
    ]);
    expect(spec.unets[2]?.recipe).toEqual({ sampler: 'ddim', timesteps: [999, 666], guidanceScale: 1, noiseCorrection: true });
    expect(spec.unets[0]?.recipe).toMatchObject({ guidanceScale: 4, solverOrder: 2 });
    expect(spec.vocabulary?.words).toContain('circle');
    expect(spec.files?.length).toBe(14);
    expect(spec.vaeDecoderTiny).toBe('vae_decoder_tiny/model.onnx');
  });

  it("reads the shipped bundle's manifest, whose students carry a distillation record", () => {
    const shipped = JSON.parse(readFileSync(new URL('../../models/shapescenes/manifest.json', import.meta.url), 'utf8')) as { unets: Record<string, unknown>[] };
    expect(shipped.unets.filter((u) => 'distillation' in u).length).toBeGreaterThan(0);
    const { spec } = parseManifest(shipped, '/models/shapescenes/');
    expect(spec.unets.map((u) => u.id)).toEqual(shipped.unets.map((u) => u.id));
  });

  it('rejects a bad manifest with an error naming the field', () => {
    expectManifestError((m) => (m.format_version = 2), /"format_version" is 2; this app reads version 1/);
    expectManifestError((m) => delete m.latent_shape, /"latent_shape" must be a list of 3 positive integers/);
    expectManifestError((m) => (m.image_size = [64]), /"image_size"/);
    expectManifestError((m) => (m.unets = []), /"unets" must be a non-empty list/);
    expectManifestError((m) => (m.text_encoder = '../../etc/passwd'), /"text_encoder" is not a relative path/);
    expectManifestError((m) => (m.prediction_type = 'v_prediction'), /"prediction_type" must be "epsilon"/);
    const unet = (m: Record<string, unknown>, i: number): Record<string, unknown> => (m.unets as Record<string, unknown>[])[i] as Record<string, unknown>;
    const recipe = (m: Record<string, unknown>, i: number): Record<string, unknown> => unet(m, i).recipe as Record<string, unknown>;
    expectManifestError((m) => (recipe(m, 1).sampler = 'euler'), /"unets\[1\].recipe.sampler" "euler" is not supported/);
    expectManifestError((m) => (recipe(m, 2).timesteps = [666, 999]), /"unets\[2\].recipe.timesteps" must be a non-empty, strictly decreasing/);
    expectManifestError((m) => (recipe(m, 3).timesteps = [1000]), /strictly decreasing list of integers in \[0, 999\]/);
    expectManifestError((m) => (recipe(m, 0).solver_order = 3), /"unets\[0\].recipe.solver_order" 3 is not supported/);
    expectManifestError((m) => (unet(m, 2).id = 'flash-1'), /"unets\[2\].id" "flash-1" is used twice/);
    expectManifestError((m) => ((m.files as Record<string, unknown>[])[0] = { path: 'model_index.json', bytes: 1, sha256: 'xyz' }), /"files\[0\].sha256" must be 64 hex digits/);
    expectManifestError((m) => (m.files = (m.files as { path: string }[]).filter((f) => f.path !== 'unet-flash-3/model.onnx')), /"files" has no size and sha256 for unet-flash-3\/model.onnx/);
    expect(() => parseManifest([1, 2], base)).toThrow(/manifest.json: is not a JSON object/);
  });

  it('reads Python JSON (Infinity) and the noise schedule of a scheduler config', () => {
    // our exporter writes plain JSON; other SD exports may carry Python's Infinity (DPM-Solver's lambda_min_clipped)
    const cfg = parsePythonJson(new TextDecoder().decode(fixtureBytes('tiny-bundle/scheduler/scheduler_config.json'))) as Record<string, unknown>;
    expect(parsePythonJson('{"lambda_min_clipped": -Infinity, "x": 1}')).toEqual({ lambda_min_clipped: -Infinity, x: 1 });
    expect(parsePythonJson('{"a": "NaN Infinity", "b": NaN}')).toEqual({ a: 'NaN Infinity', b: null });
    expect(parseSchedulerConfig(cfg, 'scheduler/scheduler_config.json')).toEqual({
      numTrainTimesteps: 1000,
      betaStart: 0.00085,
      betaEnd: 0.012,
      betaSchedule: 'scaled_linear',
    });
    expect(() => parseSchedulerConfig({ ...cfg, beta_schedule: 'squaredcos_cap_v2' }, 's.json')).toThrow(/s.json: "beta_schedule" "squaredcos_cap_v2" is not supported/);
    expect(() => parseSchedulerConfig({ ...cfg, prediction_type: 'v_prediction' }, 's.json')).toThrow(/epsilon only/);
  });

  it('opens a folder without manifest.json as a standard SD export, and says when neither file exists', async () => {
    const spec = await openBundle(nodeIo(), `${BASE}tiny-sd/`);
    expect(spec).toMatchObject({ source: 'diffusers', name: 'tiny-sd', files: null, vaeScalingFactor: 0.18215, latentShape: [4, 8, 8] });
    // tiny-sd's scheduler uses "leading" spacing with steps_offset 1, as diffusers' DPM-Solver would step it
    expect(spec.unets.find((u) => u.id === 'teacher')?.recipe.timesteps.slice(0, 3)).toEqual([951, 913, 875]);
    await expect(openBundle(nodeIo(), `${BASE}no-such-folder/`)).rejects.toThrow(/neither manifest.json nor model_index.json/);
  });
});

describe('diffusers timestep spacings', () => {
  it('matches DPMSolverMultistepScheduler.set_timesteps(25)', () => {
    const manifestTeacher = (manifest().unets as { recipe: { timesteps: number[] } }[])[0]?.recipe.timesteps;
    expect(linspaceTimesteps(25)).toEqual(manifestTeacher);
    expect(dpmTimesteps(25, 'leading', 1000, 1).slice(0, 4)).toEqual([951, 913, 875, 837]);
    expect(dpmTimesteps(25, 'trailing').slice(-3)).toEqual([119, 79, 39]);
    expect(dpmTimesteps(25, 'trailing')[0]).toBe(999);
  });
});

describe('size and sha256 verification', () => {
  const record = { path: 'text_encoder/model.onnx', bytes: 60660, sha256: '4005571cbbd2f560b17f98da3a26f6840d1de570a95a940c777fad080b832764' };
  const good = fixtureBytes('tiny-bundle/text_encoder/model.onnx');

  it('accepts the real bytes and rejects altered or truncated ones, naming the file', async () => {
    const io = nodeIo();
    await expect(verifyBytes(io, record, good)).resolves.toBeUndefined();
    const flipped = good.slice();
    flipped[100] = (flipped[100] as number) ^ 1;
    await expect(verifyBytes(io, record, flipped)).rejects.toThrow(/^text_encoder\/model.onnx: sha256 [0-9a-f]{12}… does not match the manifest's 4005571cbbd2…/);
    await expect(verifyBytes(io, record, good.subarray(0, 1000))).rejects.toThrow(/^text_encoder\/model.onnx: size is 1000 bytes, the manifest says 60660/);
  });

  it('stops reading a response that is larger than the manifest says', async () => {
    const io = nodeIo({ alter: { 'tiny-bundle/text_encoder/model.onnx': (b) => new Uint8Array([...b, 1, 2, 3]) } });
    const err = await readVerifiedFile(io, base, record).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BundleFileError);
    expect((err as Error).message).toMatch(/is larger than the 60660 bytes the manifest says/);
  });

  it('replaces a damaged Cache API entry with a fresh download', async () => {
    const caches = memoryCaches();
    const log: string[] = [];
    const io: FileIo = nodeIo({ caches, log });
    await readVerifiedFile(io, base, record);
    const [key] = [...caches.store.keys()];
    expect(key).toBe(`${base}text_encoder/model.onnx?sha256=${record.sha256}`);
    caches.store.set(key as string, new Uint8Array([1, 2, 3]));
    const bytes = await readVerifiedFile(io, base, record);
    expect(bytes.byteLength).toBe(60660);
    expect(log).toHaveLength(2);
  });

  it('reports download progress up to the file size', async () => {
    const seen: number[] = [];
    await readVerifiedFile(nodeIo(), base, record, { onProgress: (p) => seen.push(p.loaded) });
    expect(seen.at(-1)).toBe(60660);
  });
});

describe('float16 conversion', () => {
  it('round-trips representable values and rounds to nearest even', () => {
    for (const v of [0, 1, -2, 0.5, 65504, -(2 ** -14), 5.960464477539063e-8]) expect(fromHalfBits(toHalfBits(v))).toBe(v);
    expect(toHalfBits(1)).toBe(0x3c00);
    expect(toHalfBits(Infinity)).toBe(0x7c00);
    expect(toHalfBits(1e6)).toBe(0x7c00);
    expect(Number.isNaN(fromHalfBits(toHalfBits(NaN)))).toBe(true);
    expect(fromHalfBits(toHalfBits(1 + 2 ** -11))).toBe(1); // tie → even
    const x = Float32Array.from([0.1, -3.3, 100.25]);
    const back = halfToFloats(floatsToHalf(x));
    x.forEach((v, i) => expect(Math.abs((back[i] as number) - v)).toBeLessThan(Math.abs(v) * 1e-3));
  });
});
