"""An exported ONNX bundle (export.export: manifest.json + the diffusers/optimum ONNX layout) as a sampling pipeline,
so that distill.sampling.recipes.sample_recipe — and with it `python -m distill evaluate --model <bundle> --unet-id
flash-3` — runs the shipped files through onnxruntime (CPUExecutionProvider) instead of the PyTorch weights they were
exported from.

Each graph is an onnxruntime InferenceSession, the tokenizer and DDIM scheduler config are read by transformers and
diffusers from their folders; small adapters give each session the slice of the diffusers model interface that
sampling.recipes, sampling.ddim and sampling.lcm call (`.config`, `.device`, `unet(x, t, h).sample`,
`text_encoder(ids)[0]`, `vae.decode(z).sample`), so the DDIM and LCM recipes run the very same code as the PyTorch
path. model_index.json may be in either layout export has written: current optimum's (StableDiffusionPipeline, key
`vae`) or the older OnnxStableDiffusionPipeline one (key `vae_decoder`); the decoder graph is vae_decoder/model.onnx
in both.

`OnnxBundle.__call__` is StableDiffusionPipeline.__call__'s scheduler loop, step for step, on the sessions (our bundles
take int64 input_ids, decode with the manifest's vae_scaling_factor and have an f=4 VAE, which SD's ONNX pipeline
assumed otherwise); sampling.recipes.sample_with_pipeline drives it with the same portable seeded noise as the PyTorch
path.
"""
from __future__ import annotations

import json
import os
from types import SimpleNamespace

import numpy as np
import onnxruntime as ort
import torch
from diffusers import DDIMScheduler
from diffusers.image_processor import VaeImageProcessor
from diffusers.pipelines.stable_diffusion import StableDiffusionPipelineOutput
from transformers import AutoTokenizer

from ..networks.pipeline import dpm_solver, encode_prompts


PROVIDER = "CPUExecutionProvider"
TEACHER_ID = "teacher"
# the pipeline classes a bundle's model_index.json may name: optimum's current index (the PyTorch pipeline's, or
# optimum's ORT class) and diffusers' deprecated ONNX pipeline, which export wrote before
INDEX_CLASSES = ("StableDiffusionPipeline", "ORTStableDiffusionPipeline", "OnnxStableDiffusionPipeline")
ORT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64,
             "tensor(int64)": np.int64, "tensor(int32)": np.int32}


def is_bundle(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "manifest.json"))


def read_model_index(path: str) -> dict:
    """A bundle's model_index.json, checked: an SD pipeline index of either layout, naming every component."""
    file = os.path.join(path, "model_index.json")
    if not os.path.isfile(file):
        raise ValueError(f"{file} is missing: a bundle has a diffusers model_index.json beside its manifest.json")
    with open(file) as f:
        index = json.load(f)
    name = index.get("_class_name")
    if name not in INDEX_CLASSES:
        raise ValueError(f"{file}: \"_class_name\" is {name!r}; a Stable Diffusion bundle's index is one of "
                         f"{', '.join(INDEX_CLASSES)}")

    def present(key: str) -> bool:
        return isinstance(index.get(key), list) and index[key][:1] != [None]

    missing = [k for k in ("text_encoder", "tokenizer", "unet", "scheduler") if not present(k)]
    if not present("vae") and not present("vae_decoder"):
        missing.append("vae (or vae_decoder)")
    if missing:
        raise ValueError(f"{file}: no {', '.join(missing)} in this {name} index")
    return index


def _session_options() -> ort.SessionOptions:
    # onnxruntime ignores OMP_NUM_THREADS; honour it so one setting limits both PyTorch and onnxruntime
    opts = ort.SessionOptions()
    threads = os.environ.get("OMP_NUM_THREADS", "")
    if threads.isdigit():
        opts.intra_op_num_threads = int(threads)
    return opts


def open_session(path: str, options: ort.SessionOptions | None = None) -> ort.InferenceSession:
    if not os.path.isfile(path):
        raise ValueError(f"{path} is missing")
    return ort.InferenceSession(path, options or _session_options(), providers=[PROVIDER])


def _input_dtype(session: ort.InferenceSession, name: str):
    """The numpy dtype a graph declares for an input: int64 or int32 input_ids, float or int64 timestep."""
    for i in session.get_inputs():
        if i.name == name:
            if i.type not in ORT_TYPES:
                raise ValueError(f"ONNX graph input {name!r} is {i.type}, not one of {', '.join(ORT_TYPES)}")
            return ORT_TYPES[i.type]
    raise ValueError(f"ONNX graph has no input {name!r}; it has {[i.name for i in session.get_inputs()]}")


class OnnxTextEncoder:
    """text_encoder(input_ids)[0] -> last_hidden_state, as networks.pipeline.encode_prompts calls a CLIPTextModel."""

    device = torch.device("cpu")

    def __init__(self, session: ort.InferenceSession):
        self.session = session
        self.ids_dtype = _input_dtype(session, "input_ids")

    def __call__(self, input_ids: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outputs = self.session.run(None, {"input_ids": input_ids.cpu().numpy().astype(self.ids_dtype)})
        return tuple(torch.from_numpy(o) for o in outputs)


class OnnxUNet:
    """unet(sample, timestep, encoder_hidden_states).sample, as distill.sampling.guided and sample_lcm_recipe call a
    UNet2DConditionModel; `config` carries the two fields they read (the shipped student folders hold no config)."""

    device = torch.device("cpu")

    def __init__(self, session: ort.InferenceSession, unet_id: str, path: str, latent_shape: list[int]):
        self.session, self.id, self.path = session, unet_id, path
        self.config = SimpleNamespace(in_channels=latent_shape[0], sample_size=latent_shape[1])
        self.timestep_dtype = _input_dtype(session, "timestep")

    def __call__(self, sample: torch.Tensor, timestep, encoder_hidden_states: torch.Tensor) -> SimpleNamespace:
        x = sample.cpu().numpy().astype(np.float32)
        # the graphs take one timestep per sample; a scalar t (StableDiffusionPipeline's loop) is broadcast
        t = torch.as_tensor(timestep).cpu().numpy().astype(self.timestep_dtype)
        t = np.ascontiguousarray(np.broadcast_to(t.reshape(-1) if t.ndim else t, (x.shape[0],)))
        feeds = {"sample": x, "timestep": t, "encoder_hidden_states": encoder_hidden_states.cpu().numpy()}
        return SimpleNamespace(sample=torch.from_numpy(self.session.run(None, feeds)[0]))


class OnnxVAEDecoder:
    """vae.decode(latents / scaling_factor).sample, as networks.pipeline.decode_latents calls an AutoencoderKL."""

    def __init__(self, session: ort.InferenceSession, scaling_factor: float):
        self.session = session
        self.config = SimpleNamespace(scaling_factor=scaling_factor)

    def decode(self, latents: torch.Tensor) -> SimpleNamespace:
        z = latents.cpu().numpy().astype(np.float32)
        return SimpleNamespace(sample=torch.from_numpy(self.session.run(None, {"latent_sample": z})[0]))


class OnnxBundle:
    """A bundle folder opened for sampling: the attributes distill.sampling.recipes.sample_recipe reads from a pipeline
    (tokenizer, text_encoder, vae, scheduler, unet, vae_scale_factor, __call__), plus the manifest's UNets by id.
    sample_recipe(bundle, bundle.load_unet("flash-3"), bundle.recipe("flash-3"), prompts, seeds) samples a student."""

    def __init__(self, path: str):
        if not is_bundle(path):
            raise ValueError(f"{path} is not a model bundle (no manifest.json)")
        self.path = os.path.abspath(path)
        with open(os.path.join(path, "manifest.json")) as f:
            self.manifest = json.load(f)
        self.unets = {u["id"]: u for u in self.manifest["unets"]}
        self.latent_shape = list(self.manifest["latent_shape"])
        self.index = read_model_index(path)
        self._sess_options = _session_options()
        m, part = self.manifest, lambda key: os.path.join(self.path, self.manifest[key])
        self.tokenizer = AutoTokenizer.from_pretrained(part("tokenizer"))
        self.text_encoder = OnnxTextEncoder(open_session(part("text_encoder"), self._sess_options))
        self.vae = OnnxVAEDecoder(open_session(part("vae_decoder"), self._sess_options), float(m["vae_scaling_factor"]))
        # the DDIM config gives DDIM and LCM their alphas; DPM-Solver++ is built from it as export's teacher recipe is
        self.scheduler = DDIMScheduler.from_pretrained(os.path.dirname(part("scheduler")))
        self.vae_scale_factor = m["image_size"][0] // self.latent_shape[1]
        self.image_processor = VaeImageProcessor(vae_scale_factor=self.vae_scale_factor)
        self._loaded: dict[str, OnnxUNet] = {}
        self.unet = self.load_unet(TEACHER_ID)  # the UNet __call__ samples with (recipes._sample_dpm swaps it)

    def _entry(self, unet_id: str) -> dict:
        if unet_id not in self.unets:
            raise ValueError(f"bundle {self.path} has no UNet {unet_id!r}; known ids: {', '.join(self.unets)}")
        return self.unets[unet_id]

    def _unet_path(self, unet_id: str) -> str:
        return os.path.join(self.path, self._entry(unet_id)["path"])

    def recipe(self, unet_id: str = TEACHER_ID) -> dict:
        return dict(self._entry(unet_id)["recipe"])

    def load_unet(self, unet_id: str = TEACHER_ID) -> OnnxUNet:
        path = self._unet_path(unet_id)
        if unet_id not in self._loaded:
            self._loaded[unet_id] = OnnxUNet(open_session(path, self._sess_options), unet_id, path, self.latent_shape)
        return self._loaded[unet_id]

    @torch.no_grad()
    def __call__(self, prompt: list[str], height: int, width: int, num_inference_steps: int, guidance_scale: float,
                 latents: torch.Tensor, output_type: str = "np") -> StableDiffusionPipelineOutput:
        """The teacher's recipe (DPM-Solver++ 2M with CFG) as StableDiffusionPipeline.__call__ runs it, with the
        arguments sampling.recipes.sample_with_pipeline passes."""
        expected = self.latent_shape[1] * self.vae_scale_factor
        if (height, width) != (expected, expected) or output_type != "np":
            raise ValueError(f"this bundle samples {expected}×{expected} images as numpy arrays, "
                             f"not {height}×{width} as {output_type!r}")
        # 1. prompt embeddings, unconditional first, as StableDiffusionPipeline concatenates them for CFG
        do_cfg = guidance_scale > 1.0
        embeds = encode_prompts(self.text_encoder, self.tokenizer, prompt)  # [B, 77, D]
        if do_cfg:
            embeds = torch.cat([encode_prompts(self.text_encoder, self.tokenizer, [""] * len(prompt)), embeds])
        # 2. a fresh DPM-Solver++ on the bundle's schedule (its multistep history must not leak between batches)
        scheduler = dpm_solver(self.scheduler.config)
        scheduler.set_timesteps(num_inference_steps)
        latents = latents.float() * scheduler.init_noise_sigma
        # 3. the denoising loop
        for t in scheduler.timesteps:
            model_input = torch.cat([latents] * 2) if do_cfg else latents
            model_input = scheduler.scale_model_input(model_input, t)
            noise_pred = self.unet(model_input, t, embeds).sample
            if do_cfg:
                noise_uncond, noise_text = noise_pred.chunk(2)
                noise_pred = noise_uncond + guidance_scale * (noise_text - noise_uncond)
            latents = scheduler.step(noise_pred, t, latents, return_dict=False)[0]
        # 4. decode and post-process with diffusers' own image processor, as the pipeline does for output_type="np"
        image = self.vae.decode(latents / self.vae.config.scaling_factor).sample
        return StableDiffusionPipelineOutput(images=self.image_processor.postprocess(image, output_type="np"),
                                             nsfw_content_detected=None)
