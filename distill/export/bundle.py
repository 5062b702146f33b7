"""An exported ONNX bundle (export.export: manifest.json + the diffusers ONNX layout) as a sampling pipeline, so that
distill.sampling.recipes.sample_recipe — and with it `python -m distill evaluate --model <bundle> --unet-id flash-3` — runs the
shipped files through onnxruntime (CPUExecutionProvider) instead of the PyTorch weights they were exported from.

The components are loaded by diffusers' own OnnxStableDiffusionPipeline (OnnxRuntimeModel sessions, the bundle's
tokenizer and scheduler config); the students' UNets are further OnnxRuntimeModels. Small adapters give each session
the slice of the diffusers model interface that sampling.recipes, sampling.ddim and sampling.lcm call
(`.config`, `.device`, `unet(x, t, h).sample`, `text_encoder(ids)[0]`, `vae.decode(z).sample`), so the DDIM and LCM
recipes run the very same code as the PyTorch path.

OnnxStableDiffusionPipeline.__call__ itself does not fit our bundles: it feeds int32 input_ids (ours are int64),
decodes with SD's hard-coded 1/0.18215 (ours: manifest vae_scaling_factor) and assumes an f=8 VAE (ours is f=4).
`OnnxBundle.__call__` is therefore StableDiffusionPipeline.__call__'s scheduler loop, step for step, on the sessions;
sampling.recipes.sample_with_pipeline drives it with the same portable seeded noise as the PyTorch path.
"""
from __future__ import annotations

import json
import os
from types import SimpleNamespace

import numpy as np
import onnxruntime as ort
import torch
from diffusers import OnnxRuntimeModel, OnnxStableDiffusionPipeline
from diffusers.image_processor import VaeImageProcessor
from diffusers.pipelines.onnx_utils import ORT_TO_NP_TYPE
from diffusers.pipelines.stable_diffusion import StableDiffusionPipelineOutput

from ..networks.pipeline import dpm_solver, encode_prompts


PROVIDER = "CPUExecutionProvider"
TEACHER_ID = "teacher"


def is_bundle(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "manifest.json"))


def _input_dtype(model: OnnxRuntimeModel, name: str):
    """The numpy dtype a graph declares for an input: int64 or int32 input_ids, float or int64 timestep."""
    for i in model.model.get_inputs():
        if i.name == name:
            return ORT_TO_NP_TYPE[i.type]
    raise ValueError(f"ONNX graph has no input {name!r}; it has {[i.name for i in model.model.get_inputs()]}")


def _session_options() -> ort.SessionOptions:
    # onnxruntime ignores OMP_NUM_THREADS; honour it so one setting limits both PyTorch and onnxruntime
    opts = ort.SessionOptions()
    threads = os.environ.get("OMP_NUM_THREADS", "")
    if threads.isdigit():
        opts.intra_op_num_threads = int(threads)
    return opts


class OnnxTextEncoder:
    """text_encoder(input_ids)[0] -> last_hidden_state, as networks.pipeline.encode_prompts calls a CLIPTextModel."""

    device = torch.device("cpu")

    def __init__(self, model: OnnxRuntimeModel):
        self.model = model
        self.ids_dtype = _input_dtype(model, "input_ids")

    def __call__(self, input_ids: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outputs = self.model(input_ids=input_ids.cpu().numpy().astype(self.ids_dtype))
        return tuple(torch.from_numpy(o) for o in outputs)


class OnnxUNet:
    """unet(sample, timestep, encoder_hidden_states).sample, as distill.sampling.guided and sample_lcm_recipe call a
    UNet2DConditionModel; `config` carries the two fields they read (the shipped student folders hold no config)."""

    device = torch.device("cpu")

    def __init__(self, model: OnnxRuntimeModel, unet_id: str, path: str, latent_shape: list[int]):
        self.model, self.id, self.path = model, unet_id, path
        self.config = SimpleNamespace(in_channels=latent_shape[0], sample_size=latent_shape[1])
        self.timestep_dtype = _input_dtype(model, "timestep")

    def __call__(self, sample: torch.Tensor, timestep, encoder_hidden_states: torch.Tensor) -> SimpleNamespace:
        x = sample.cpu().numpy().astype(np.float32)
        # the graphs take one timestep per sample; a scalar t (StableDiffusionPipeline's loop) is broadcast
        t = torch.as_tensor(timestep).cpu().numpy().astype(self.timestep_dtype)
        t = np.ascontiguousarray(np.broadcast_to(t.reshape(-1) if t.ndim else t, (x.shape[0],)))
        out = self.model(sample=x, timestep=t, encoder_hidden_states=encoder_hidden_states.cpu().numpy())[0]
        return SimpleNamespace(sample=torch.from_numpy(out))


class OnnxVAEDecoder:
    """vae.decode(latents / scaling_factor).sample, as networks.pipeline.decode_latents calls an AutoencoderKL."""

    def __init__(self, model: OnnxRuntimeModel, scaling_factor: float):
        self.model = model
        self.config = SimpleNamespace(scaling_factor=scaling_factor)

    def decode(self, latents: torch.Tensor) -> SimpleNamespace:
        return SimpleNamespace(sample=torch.from_numpy(self.model(latent_sample=latents.cpu().numpy())[0]))


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
        self._sess_options = _session_options()
        # 1. diffusers loads the sessions, tokenizer and scheduler config; the bundle ships no VAE encoder (nor a
        #    safety checker), and provider_options={} keeps OnnxRuntimeModel from a failed first session attempt
        onnx_pipe = OnnxStableDiffusionPipeline.from_pretrained(
            path, vae_encoder=None, safety_checker=None, feature_extractor=None, requires_safety_checker=False,
            provider=PROVIDER, provider_options={}, sess_options=self._sess_options)
        self.tokenizer = onnx_pipe.tokenizer
        self.text_encoder = OnnxTextEncoder(onnx_pipe.text_encoder)
        self.vae = OnnxVAEDecoder(onnx_pipe.vae_decoder, float(self.manifest["vae_scaling_factor"]))
        # 2. the DDIM config gives DDIM and LCM their alphas; DPM-Solver++ is built from it as export's teacher recipe is
        self.scheduler = onnx_pipe.scheduler
        self.vae_scale_factor = self.manifest["image_size"][0] // self.latent_shape[1]
        self.image_processor = VaeImageProcessor(vae_scale_factor=self.vae_scale_factor)
        # 3. the teacher's session is already open; students open on first use
        self._loaded = {TEACHER_ID: OnnxUNet(onnx_pipe.unet, TEACHER_ID, self._unet_path(TEACHER_ID), self.latent_shape)}
        self.unet = self._loaded[TEACHER_ID]  # the UNet __call__ samples with (recipes._sample_dpm swaps it)

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
            model = OnnxRuntimeModel.from_pretrained(os.path.dirname(path), file_name=os.path.basename(path),
                                                     provider=PROVIDER, provider_options={},
                                                     sess_options=self._sess_options)
            self._loaded[unet_id] = OnnxUNet(model, unet_id, path, self.latent_shape)
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
