"""What every student's training shares: the config fields, the frozen teacher and data pool, the
discriminator on teacher-encoder features, resume and checkpoints, and the periodic evaluation."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from ..domain.analyzer import accuracy_by_category
from ..domain.prompts import DEV_PROMPTS, eval_subset
from ..domain.render import images_to_tensor
from ..domain.scenes import caption
from ..networks.latents import latent_pool
from ..networks.pipeline import encode_prompts, load_pipeline
from ..runs.accel import make_accelerator
from ..runs.checkpoint import as_dict, load_checkpoint, refuse_record_only, save_atomic, write_run_record
from ..runs.compute import resumed_passes
from ..sampling.ddim import alpha_sigma
from ..sampling.recipes import normalize_recipe, sample_recipe


@dataclass
class StudentConfig:
    """The training fields every student's config has; each method adds its own and may change a default."""
    batch_size: int = 32
    learning_rate: float = 5e-5
    pool_size: int = 8000  # data latents: forward-noised inputs (baselines, forward ablation), the real side (with
    # --data-dir: at most this many of the folder's images)
    eval_every: int = 250
    eval_prompts_per_category: int = 8
    log_every: int = 25
    checkpoint_minutes: float = 5.0
    mixed_precision: str = "no"  # "bf16", or "auto": bf16 only where the hardware has it (operational)
    seed: int = 0
    max_unet_passes: int = 0  # > 0: stop once the run has spent this many UNet passes (runs.compute; operational)
    # steps at which the student is also saved as it is then, in run_dir/step-<N>/ (save_snapshot): an equal-steps row
    # of a run that trains on to a pass budget (operational: it changes what is saved, not what is trained)
    snapshot_steps: tuple[int, ...] = ()


METADATA = "metadata.jsonl"


class PoolCaptions:
    """The training prompts of a data pool's rows: for ShapeScenes scenes a caption drawn per use (the draws of
    caption(scene, rng), as every run has made them), for an image folder each row's own caption (no draw)."""

    def __init__(self, scenes: list | None = None, texts: list[str] | None = None):
        self.scenes, self.texts = scenes, texts

    def __len__(self) -> int:
        return len(self.texts if self.texts is not None else self.scenes)

    def draw(self, idx, rng) -> list[str]:
        if self.texts is not None:
            return [self.texts[j] for j in idx]
        return [caption(self.scenes[j], rng)[0] for j in idx]


def image_folder_rows(data_dir: str, limit: int | None = None,
                      rng: np.random.Generator | None = None) -> list[tuple[str, str, str]]:
    """The rows of an image folder in the Hugging Face imagefolder convention (images + metadata.jsonl, one JSON object
    per line with "file_name", relative to the folder, and the caption "text"), checked: (metadata line, image path,
    caption). With more rows than `limit`, `limit` of them drawn with rng, in folder order."""
    if not os.path.isdir(data_dir):
        raise ValueError(f"--data-dir {data_dir}: no such folder")
    meta = os.path.join(data_dir, METADATA)
    if not os.path.isfile(meta):
        raise ValueError(f"--data-dir {data_dir}: no {METADATA} (the imagefolder convention: one JSON object per line "
                         f'with "file_name" and "text")')
    rows = []
    with open(meta) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{meta}:{lineno}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{where}: not a JSON object ({e})") from e
            if not isinstance(row, dict) or not isinstance(row.get("file_name"), str) or not row["file_name"]:
                raise ValueError(f'{where}: no "file_name"')
            text = row.get("text")
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f'{where}: {row["file_name"]} has no caption ("text")')
            path = os.path.join(data_dir, row["file_name"])
            if not os.path.isfile(path):
                raise ValueError(f"{where}: {path} is missing")
            rows.append((where, path, text))
    if not rows:
        raise ValueError(f"--data-dir {data_dir}: {meta} has no rows")
    if limit is not None and len(rows) > limit:
        rows = [rows[i] for i in sorted((rng or np.random.default_rng()).choice(len(rows), limit, replace=False))]
    return rows


def load_images(rows: list[tuple[str, str, str]], image_size: int) -> np.ndarray:
    """uint8 [N, S, S, 3] RGB: each row's image, its centre square resized to S = image_size."""
    images = []
    for where, path, _ in rows:
        try:
            with Image.open(path) as im:
                images.append(np.asarray(ImageOps.fit(im.convert("RGB"), (image_size, image_size),
                                                      Image.Resampling.BICUBIC)))
        except (OSError, UnidentifiedImageError) as e:
            raise ValueError(f"{where}: {path} cannot be read as an image ({e})") from e
    return np.stack(images)


@torch.no_grad()
def data_latent_pool(pipe, size: int, seed: int, device,
                     data_dir: str | None = None) -> tuple[PoolCaptions, torch.Tensor]:
    """The data latents [N, 4, h, w] (scaled VAE posterior means at the teacher's image size: 64 for ours, 512 for
    SD 1.5) and their captions: `size` ShapeScenes scenes, or up to `size` images of an image folder (data_dir).
    The same pool for a given seed in flash and the baselines."""
    image_size = pipe.unet.config.sample_size * pipe.vae_scale_factor
    rng = np.random.default_rng([seed, 31337])
    if data_dir is None:
        scenes, latents = latent_pool(pipe.vae, size, rng, image_size, device)
        return PoolCaptions(scenes=scenes), latents * pipe.vae.config.scaling_factor
    rows = image_folder_rows(data_dir, size, rng)
    batch = max(1, 256 * 64 * 64 // image_size ** 2)  # as many pixels as latent_pool's 256 renders at 64²
    latents = [pipe.vae.encode(images_to_tensor(load_images(rows[i:i + batch], image_size)).to(device)).latent_dist.mean
               for i in range(0, len(rows), batch)]  # read batch by batch: 8,000 images at 512² would be 6 GB
    return PoolCaptions(texts=[text for _, _, text in rows]), torch.cat(latents) * pipe.vae.config.scaling_factor


def unet_encoder_features(unet, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor,
                          levels: str = "mid") -> torch.Tensor | tuple[torch.Tensor, ...]:
    """Activations of a diffusers UNet2DConditionModel's encoder half (the same steps as the first half of
    UNet2DConditionModel.forward): the mid-block's [B, C, h', w'] ("mid"), or ("all") each down block's last
    activation before its downsampler, highest resolution first, then the mid-block's — at our 16² latents the mid
    block is 4×4, where a star's points or a heart's lobes do not show."""
    if levels not in DISC_LEVELS:
        raise ValueError(f"discriminator levels must be one of {DISC_LEVELS}, got {levels!r}")
    emb = unet.time_embedding(unet.get_time_embed(sample=x, timestep=t))
    h = unet.conv_in(x)
    per_level = []
    for block in unet.down_blocks:
        if getattr(block, "has_cross_attention", False):
            h, res = block(hidden_states=h, temb=emb, encoder_hidden_states=cond)
        else:
            h, res = block(hidden_states=h, temb=emb)
        if block.downsamplers is not None:
            per_level.append(res[-2])  # res ends with the downsampler's output
    mid = unet.mid_block(h, emb, encoder_hidden_states=cond)
    return mid if levels == "mid" else (*per_level, mid)


DISC_LEVELS = ("mid", "all")


class Discriminator(nn.Module):
    """A small head on frozen teacher-encoder features (computed with the empty prompt): it judges realism only;
    text alignment is the reconstruction target's job."""

    def __init__(self, channels: int, width: int = 128):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, width, 3, padding=1), nn.GroupNorm(8, width), nn.SiLU(),
                                  nn.Conv2d(width, width, 3, padding=1), nn.GroupNorm(8, width), nn.SiLU())
        self.out = nn.Linear(width, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(features.float()).mean((2, 3))).squeeze(1)  # [B]


class MultiLevelDiscriminator(nn.Module):
    """One Discriminator head per feature level (unet_encoder_features(levels="all")); the logit is their sum."""

    def __init__(self, channels: list[int], width: int = 128):
        super().__init__()
        self.heads = nn.ModuleList(Discriminator(c, width) for c in channels)

    def forward(self, features: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return sum(head(f) for head, f in zip(self.heads, features))  # [B]


def make_discriminator(teacher, cond_dim: int, levels: str) -> nn.Module:
    """The discriminator for these teacher-encoder levels, sized by one probe pass on a latent of the teacher's."""
    dev, c = teacher.device, teacher.config
    with torch.no_grad():
        probe = unet_encoder_features(teacher, torch.zeros(1, c.in_channels, c.sample_size, c.sample_size, device=dev),
                                      torch.tensor([500.0], device=dev), torch.zeros(1, 77, cond_dim, device=dev),
                                      levels)
    if levels == "mid":
        return Discriminator(probe.shape[1])
    return MultiLevelDiscriminator([f.shape[1] for f in probe])


def adversarial_loss(teacher, disc, x0_student, ac, uncond, levels: str = "mid"):
    """The student's side of the adversarial term: its x̂0 forward-noised to t_d ~ U[0, 750), judged on frozen
    teacher-encoder features (hinge loss). Returns the loss and the noising, which discriminator_step reuses."""
    t_d = torch.randint(0, 750, (x0_student.shape[0],), device=x0_student.device)
    noise = torch.randn_like(x0_student)
    a_d, s_d = (v.float() for v in alpha_sigma(ac, t_d))  # [B, 1, 1, 1]
    fake_in = a_d * x0_student + s_d * noise
    loss = -disc(unet_encoder_features(teacher, fake_in, t_d.float(), uncond, levels)).mean()
    return loss, SimpleNamespace(t=t_d, noise=noise, a=a_d, s=s_d, fake_in=fake_in, levels=levels)


def discriminator_step(teacher, disc, opt_d, accelerator, real_x0, noising, uncond) -> torch.Tensor:
    """One hinge-loss step of the discriminator: real latents noised as the fake ones were, the fake ones detached."""
    with torch.no_grad(), accelerator.autocast():
        t = noising.t.float()
        f_real = unet_encoder_features(teacher, noising.a * real_x0 + noising.s * noising.noise, t, uncond,
                                       noising.levels)
        f_fake = unet_encoder_features(teacher, noising.fake_in.detach(), t, uncond, noising.levels)
    loss_d = F.relu(1 - disc(f_real)).mean() + F.relu(1 + disc(f_fake)).mean()
    opt_d.zero_grad(set_to_none=True)
    accelerator.backward(loss_d)
    opt_d.step()
    return loss_d


def evaluate_student(pipe, unet, recipe: dict, rows: list[dict]) -> dict:
    """Accuracy per category of a student under a recipe on a few prompts, seed 0 (the periodic evaluation)."""
    images = sample_recipe(pipe, unet, recipe, [r["prompt"] for r in rows], [0] * len(rows))
    return accuracy_by_category(rows, images, [0])


def start_run(args, cfg):
    """Before any training state: refuse a record-only run folder, make the accelerator, seed torch, and load the
    frozen teacher (VAE, text encoder, UNet) onto its device. (accelerator, pipe, teacher UNet, alphas_cumprod)"""
    refuse_record_only(args.run_dir)  # before any loading: such a folder is never trained into
    accelerator = make_accelerator(cfg.mixed_precision)
    torch.manual_seed(cfg.seed + accelerator.process_index)
    pipe = load_pipeline(args.teacher)
    teacher = pipe.unet.eval()
    for m in (pipe.vae, pipe.text_encoder, teacher):
        m.requires_grad_(False).to(accelerator.device)
    ac = pipe.scheduler.alphas_cumprod.double().to(accelerator.device)  # [1000]
    return accelerator, pipe, teacher, ac


def run_sources(args) -> dict:
    """What a run learns from, saved in its checkpoint: the teacher folder and the image folder (None: ShapeScenes)."""
    return {"teacher": os.path.abspath(args.teacher), "data_dir": args.data_dir and os.path.abspath(args.data_dir)}


def check_sources(ckpt: dict, ckpt_path: str, args) -> None:
    """A resume must learn from what the run learnt from so far. (A checkpoint from before data_dir was saved
    cannot say, and is let through.)"""
    now = run_sources(args)
    if ckpt.get("teacher") != now["teacher"]:
        raise ValueError(f"{ckpt_path} distills {ckpt.get('teacher')}, not {now['teacher']}; use another --run-dir")
    if "data_dir" in ckpt and ckpt["data_dir"] != now["data_dir"]:
        def name(d):
            return f"--data-dir {d}" if d else "ShapeScenes (no --data-dir)"
        raise ValueError(f"{ckpt_path} was trained on {name(ckpt['data_dir'])}, not {name(now['data_dir'])}; "
                         "resume with the same data or use another --run-dir")


def pool_and_rng(pipe, cfg, accelerator, step: int, data_dir: str | None = None):
    """The fixed pool of data latents (forward-noised student inputs, the discriminator's real side) with its captions
    (the training prompts), from ShapeScenes or an image folder, and the run's numpy rng, seeded with the step so
    that a resumed run draws new noise; torch is reseeded from it. (captions, latents, rng)"""
    captions, latents = data_latent_pool(pipe, cfg.pool_size, cfg.seed, accelerator.device, data_dir)  # [N, 4, h, w]
    rng = np.random.default_rng([cfg.seed, accelerator.process_index, step])
    torch.manual_seed(int(rng.integers(2**31)))  # noise draws differ after a resume, too
    return captions, latents, rng


def setup(args, cfg, method: str, passes_for_steps):
    """The frozen teacher pieces, the data latent pool, the run's checkpoint (or None), the UNet passes spent so far
    (runs.compute; passes_for_steps(steps) estimates them for a checkpoint from before runs counted) and the batch
    sampler."""
    accelerator, pipe, teacher, ac = start_run(args, cfg)
    dev = accelerator.device
    ckpt_path, ckpt, step, history = os.path.join(args.run_dir, "ckpt.pt"), None, 0, []
    if os.path.exists(ckpt_path):
        # the kind names the method: resuming a run with another --method raises here
        ckpt = load_checkpoint(ckpt_path, as_dict(cfg), kind=f"baseline-{method}")
        check_sources(ckpt, ckpt_path, args)
        step, history = ckpt["step"], ckpt["history"]
        accelerator.print(f"resuming {ckpt_path} ({method}) at step {step}")
    captions, latents, rng = pool_and_rng(pipe, cfg, accelerator, step, args.data_dir)
    uncond_1 = encode_prompts(pipe.text_encoder, pipe.tokenizer, [""])  # [1, 77, D]

    def batch():
        """x0 [B, 4, h, w] data latents with their captions' embeddings cond, and the empty prompt's uncond."""
        idx = rng.integers(len(captions), size=cfg.batch_size)
        with torch.no_grad():
            cond = encode_prompts(pipe.text_encoder, pipe.tokenizer, captions.draw(idx, rng))
        return latents[torch.from_numpy(idx).to(dev)], cond, uncond_1.expand(len(idx), -1, -1)

    return SimpleNamespace(accelerator=accelerator, pipe=pipe, teacher=teacher, dev=dev, ac=ac, rng=rng, batch=batch,
                           ckpt_path=ckpt_path, ckpt=ckpt, step=step, history=history,
                           passes=resumed_passes(ckpt, step, passes_for_steps),
                           eval_rows=periodic_eval_rows(args, cfg.eval_prompts_per_category, accelerator.print))


def periodic_eval_rows(args, per_category: int, print_fn=print) -> list[dict]:
    """The prompts of the periodic evaluation: --eval-prompts, else the dev prompts, except for a run on --data-dir
    images, which the ShapeScenes analyzer cannot score (it says so rather than report meaningless accuracies)."""
    if args.eval_prompts is None and args.data_dir:
        print_fn("periodic evaluation off: the ShapeScenes analyzer cannot score --data-dir images "
                 "(--eval-prompts turns it on)")
        return []
    return eval_subset(args.eval_prompts or DEV_PROMPTS, per_category)


def log(run, timer, **row) -> None:
    run.history.append({"step": run.step, **row, "unet_passes": run.passes, "minutes": timer.minutes()})
    run.accelerator.print(" ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in
                                   run.history[-1].items()))


def maybe_evaluate(run, cfg, unet, recipe: dict) -> None:
    if run.step % cfg.eval_every == 0 and run.accelerator.is_main_process and run.eval_rows:
        was_training = unet.training
        metrics = evaluate_student(run.pipe, unet.eval(), recipe, run.eval_rows)
        unet.train(was_training)
        # the step count sampled, as flash's evals say it: the compute curves draw one line per count
        steps = normalize_recipe(recipe)["steps"]
        run.history.append({"step": run.step, "student_steps": steps, "unet_passes": run.passes, **metrics})
        run.accelerator.print(f"step {run.step} eval {json.dumps(metrics)}")


def save_checkpoint(run, args, cfg, method: str, state: dict, shipped, recipe: dict) -> None:
    """ckpt.pt (atomic) with the run's state dicts and everything else a resume needs; the shipped UNet and its
    recipe in run_dir/unet/."""
    if run.accelerator.is_main_process:
        save_atomic({"kind": f"baseline-{method}", "method": method, "config": as_dict(cfg),
                     "step": run.step, "unet_passes": run.passes, "history": run.history,
                     **run_sources(args), **state},
                    run.ckpt_path)
        save_student(shipped, recipe, os.path.join(args.run_dir, "unet"))


def snapshot_dir(run_dir: str, step: int) -> str:
    return os.path.join(run_dir, f"step-{step}")


def save_snapshot(run_dir: str, kind: str, cfg, step: int, passes: int, history: list[dict], save_unets) -> None:
    """The student at a step of cfg.snapshot_steps, beside its run as a finished run folder of its own: what
    save_unets(folder) writes (unet/ and its recipe) and a record.json (runs.checkpoint) with the config, step, passes
    and history up to here, which export, evaluation and reproduce read like any run's."""
    folder = snapshot_dir(run_dir, step)
    save_unets(folder)
    record = {"kind": kind, "config": {**as_dict(cfg), "max_steps": step}, "step": step, "unet_passes": passes,
              "history": [h for h in history if h["step"] <= step]}
    write_run_record(folder, record)


def maybe_snapshot(run, args, cfg, method: str, shipped, recipe: dict) -> None:
    """A baseline's save_snapshot, when this step is one of cfg.snapshot_steps."""
    if run.step in cfg.snapshot_steps and run.accelerator.is_main_process:
        save_snapshot(args.run_dir, f"baseline-{method}", cfg, run.step, run.passes, run.history,
                      lambda folder: save_student(shipped, recipe, os.path.join(folder, "unet")))


def save_student(student, recipe: dict, folder: str) -> None:
    student.save_pretrained(folder, safe_serialization=True)
    with open(os.path.join(folder, "recipe.json"), "w") as f:
        json.dump(recipe, f, indent=2)
