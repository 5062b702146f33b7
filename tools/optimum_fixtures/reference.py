"""Python onnxruntime reference images for the optimum-exported fixtures, and their index.json and README.md.

For each folder: the fixed recipe below run through the folder's own ONNX graphs with onnxruntime (CPU) and
the folder's own scheduler config through diffusers' scheduler class, written as reference.json +
reference.png (+ reference_x0.png) beside the fixture, for the app's Playwright tests to compare with.
Then the same recipe through optimum's ORTDiffusionPipeline on the folder, and through the PyTorch pipeline
it was exported from, as checks that the recipe is diffusers' own (their differences are recorded).

Recipe (diffusers' StableDiffusion(XL)Pipeline semantics):
- prompt "a red circle", negative prompt "" (SDXL with force_zeros_for_empty_prompt: zero negative embeddings);
  input_ids padded to max_length 77 with the tokenizer's pad token, in the graph's integer dtype;
- SD 1.x/2.x conditioning: text_encoder's last_hidden_state. SDXL: hidden_states[-2] of text_encoder and
  text_encoder_2 concatenated on the last axis, text_embeds = text_encoder_2's text_embeds, time_ids =
  (H, W, 0, 0, H, W);
- initial latents = distill/sampling/noise.py gaussian_noise(seed 0, (1, 4, h, w)) × scheduler.init_noise_sigma;
- 2 steps of the folder's scheduler (set_timesteps(2) with its timestep_spacing / steps_offset /
  prediction_type); per step the batch [uncond, cond] goes through the UNet in one call with
  scheduler.scale_model_input applied, timestep fed at the graph's rank and dtype, CFG scale 4;
- scheduler math in float32 (graph inputs cast to the graph's dtype, outputs cast back to float32);
- image = vae_decoder(latents / scaling_factor), (x / 2 + 0.5) clipped to [0, 1], × 255 rounded to uint8.
reference.png decodes the scheduler's final prev_sample; reference_x0.png decodes the last step's
pred_original_sample (what a sampler that ends on x̂0 returns; identical for Euler, whose last σ is 0).

    python tools/optimum_fixtures/reference.py --fixtures tests/fixtures/optimum
"""
from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import sys

import numpy as np
import onnxruntime as ort
import torch
from optimum.onnxruntime import ORTDiffusionPipeline
from PIL import Image
from transformers import CLIPTokenizer

import diffusers

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import describe  # noqa: E402


def _noise_module():
    """distill/sampling/noise.py by path: the portable noise the app reproduces, without importing distill."""
    spec = importlib.util.spec_from_file_location("portable_noise", os.path.join(ROOT, "distill", "sampling", "noise.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


RECIPE = {"prompt": "a red circle", "negative_prompt": "", "seed": 0, "num_inference_steps": 2, "guidance_scale": 4.0}
ORT_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(int64)": np.int64,
              "tensor(int32)": np.int32}


class Graph:
    """One ONNX graph: feeds cast to the dtype each input declares, outputs by name in the graph's dtypes."""

    observed: dict[str, dict[str, list[int]]] = {}
    ort_shapes: dict[str, dict[str, list]] = {}

    def __init__(self, folder: str, component: str):
        self.component = component
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        self.session = ort.InferenceSession(os.path.join(folder, component, "model.onnx"), opts,
                                            providers=["CPUExecutionProvider"])
        self.inputs = {i.name: i for i in self.session.get_inputs()}
        self.dtypes = {i.name: ORT_DTYPES[i.type] for i in self.session.get_inputs()}
        Graph.ort_shapes[component] = {a.name: list(a.shape)
                                       for a in [*self.session.get_inputs(), *self.session.get_outputs()]}

    def __call__(self, **feeds) -> dict[str, np.ndarray]:
        missing = set(self.inputs) - set(feeds)
        if missing:
            raise KeyError(f"no feed for {sorted(missing)}")
        arrays = {k: np.asarray(v).astype(self.dtypes[k]) for k, v in feeds.items()}
        names = [o.name for o in self.session.get_outputs()]
        out = {n: np.asarray(v) for n, v in zip(names, self.session.run(names, arrays))}
        Graph.observed[self.component] = {**{k: list(v.shape) for k, v in arrays.items()},
                                          **{k: list(v.shape) for k, v in out.items()}}
        return out

    def timestep(self, t: float, batch: int) -> np.ndarray:
        rank = len(self.inputs["timestep"].shape)
        return np.array(t) if rank == 0 else np.full((batch,), t)


def _summary(x: np.ndarray) -> dict:
    x = np.asarray(x, dtype=np.float64)
    return {"shape": list(x.shape), "sum": float(x.sum()), "abs_mean": float(np.abs(x).mean()),
            "first": [float(v) for v in x.reshape(-1)[:8]]}


def _tokenize(tok: CLIPTokenizer, text: str) -> np.ndarray:
    return tok([text], padding="max_length", max_length=tok.model_max_length, truncation=True,
               return_tensors="np").input_ids


def encode(folder: str, desc: dict, record: dict) -> tuple[np.ndarray, dict]:
    """[uncond, cond] conditioning: encoder_hidden_states, and for SDXL text_embeds and time_ids."""
    sdxl = bool(desc["exercises"]["sdxl_unet_inputs"])
    hidden, pooled = [], None
    record["input_ids"] = {}
    for te in desc["exercises"]["text_encoders"]:
        tok = CLIPTokenizer.from_pretrained(os.path.join(folder, te.replace("text_encoder", "tokenizer")))
        ids = np.concatenate([_tokenize(tok, RECIPE["negative_prompt"]), _tokenize(tok, RECIPE["prompt"])])
        record["input_ids"][te] = ids[1].tolist()
        out = Graph(folder, te)(input_ids=ids)
        if sdxl:
            layers = sorted((k for k in out if k.startswith("hidden_states.")), key=lambda k: int(k.split(".")[1]))
            hidden.append(out[layers[-2]].astype(np.float32))
            if "text_embeds" in out:
                pooled = out["text_embeds"].astype(np.float32)
        else:
            hidden.append(out["last_hidden_state"].astype(np.float32))
    states = np.concatenate(hidden, axis=-1)
    extra = {}
    if sdxl:
        if desc["model_index"]["force_zeros_for_empty_prompt"] and RECIPE["negative_prompt"] == "":
            states[0], pooled[0] = 0, 0
        h, w = desc["image_size"]
        extra = {"text_embeds": pooled, "time_ids": np.array([[h, w, 0, 0, h, w]] * 2, dtype=np.float32)}
        record["time_ids"] = [h, w, 0, 0, h, w]
        record["text_embeds"] = _summary(pooled[1])
    record["encoder_hidden_states"] = {"uncond": _summary(states[0]), "cond": _summary(states[1])}
    return states, extra


def scheduler_for(folder: str):
    config = json.load(open(os.path.join(folder, "scheduler", "scheduler_config.json")))
    return getattr(diffusers, config["_class_name"]).from_pretrained(os.path.join(folder, "scheduler"))


def to_uint8(image: np.ndarray) -> np.ndarray:
    """NCHW in [-1, 1] -> HWC uint8, as diffusers' image processor does."""
    x = np.clip(image[0].astype(np.float32).transpose(1, 2, 0) / 2 + 0.5, 0, 1)
    return (x * 255).round().astype(np.uint8)


def reference(folder: str) -> dict:
    desc = describe.describe(folder)
    Graph.observed, Graph.ort_shapes = {}, {}
    record = {"recipe": RECIPE, "noise": "distill/sampling/noise.py gaussian_noise(seed, (1, *latent_shape))"}
    states, extra = encode(folder, desc, record)
    scheduler = scheduler_for(folder)
    scheduler.set_timesteps(RECIPE["num_inference_steps"])
    noise = _noise_module().gaussian_noise(RECIPE["seed"], (1, *desc["latent_shape"]))
    latents = torch.from_numpy(noise) * scheduler.init_noise_sigma
    record.update(noise_summary=_summary(noise), init_noise_sigma=float(scheduler.init_noise_sigma),
                  timesteps=[float(t) for t in scheduler.timesteps], steps=[])
    unet = Graph(folder, "unet")
    x0 = None
    for t in scheduler.timesteps:
        model_in = scheduler.scale_model_input(torch.cat([latents] * 2), t).numpy()
        out = unet(sample=model_in, timestep=unet.timestep(float(t), 2), encoder_hidden_states=states, **extra)
        uncond, cond = out["out_sample"].astype(np.float32)
        guided = torch.from_numpy(uncond + RECIPE["guidance_scale"] * (cond - uncond))[None]
        step = scheduler.step(guided, t, latents)
        latents, x0 = step.prev_sample, step.pred_original_sample
        record["steps"].append({"timestep": float(t), "model_input": _summary(model_in[1]),
                                "guided_model_output": _summary(guided.numpy()),
                                "latents": _summary(latents.numpy())})
    vae = Graph(folder, "vae_decoder")
    images = {}
    for name, lat in (("reference.png", latents), ("reference_x0.png", x0)):
        image = to_uint8(vae(latent_sample=lat.numpy() / desc["vae_scaling_factor"])["sample"])
        Image.fromarray(image).save(os.path.join(folder, name))
        images[name] = {"shape": list(image.shape), "dtype": "uint8", "sum": int(image.astype(np.int64).sum())}
    record["final_latents"] = [round(float(v), 7) for v in latents.numpy().reshape(-1)]
    record["final_latents_shape"] = list(latents.shape)
    record["images"] = images
    record["observed_shapes"] = dict(sorted(Graph.observed.items()))
    record["metadata_mismatches"] = metadata_mismatches(desc, Graph.observed, Graph.ort_shapes)
    return record


def metadata_mismatches(desc: dict, observed: dict, ort_shapes: dict) -> list[str]:
    """Where a graph's declared shape disagrees with what it returned: a fixed dim of another size, or a
    symbolic dim whose name also labels an input dim of a different size (one symbol, two sizes); and where
    onnxruntime's session metadata differs from the shape declared in the file."""
    found = []
    for component, graph in desc["graphs"].items():
        for v in graph["inputs"] + graph["outputs"]:
            reported = ort_shapes.get(component, {}).get(v["name"])
            if reported is not None and reported != v["shape"]:
                found.append(f"{component}:{v['name']} is declared {v['shape']} in model.onnx; onnxruntime's "
                             f"session metadata reports {reported}")
        seen = observed.get(component)
        if seen is None:
            continue
        sizes: dict[str, set[int]] = {}
        for v in graph["inputs"] + graph["outputs"]:
            shape = seen.get(v["name"])
            if shape is None:
                continue
            if len(shape) != len(v["shape"]):
                found.append(f"{component}:{v['name']} declares rank {len(v['shape'])}, returns {shape}")
                continue
            for d, n in zip(v["shape"], shape):
                if isinstance(d, int) and d != n:
                    found.append(f"{component}:{v['name']} declares {v['shape']}, returns {shape}")
                elif isinstance(d, str):
                    sizes.setdefault(d, set()).add(n)
        for symbol, values in sorted(sizes.items()):
            if len(values) > 1:
                users = [f"{v['name']} {seen[v['name']]}" for v in graph["inputs"] + graph["outputs"]
                         if symbol in v["shape"] and v["name"] in seen]
                found.append(f"{component}: dim '{symbol}' takes sizes {sorted(values)} ({', '.join(users)})")
    return found


def optimum_check(folder: str) -> float:
    """Max |difference| in /255 between reference.png and optimum's ORTDiffusionPipeline on the same recipe."""
    desc = describe.describe(folder)
    pipe = ORTDiffusionPipeline.from_pretrained(folder, provider="CPUExecutionProvider")
    return _pipeline_diff(folder, desc, pipe, torch.float16 if desc["exercises"]["fp16_inputs"] else torch.float32)


def torch_check(folder: str, pipeline_dir: str) -> float:
    """The same against the PyTorch pipeline the folder was exported from (fp32)."""
    desc = describe.describe(folder)
    pipe = diffusers.DiffusionPipeline.from_pretrained(pipeline_dir)
    pipe.set_progress_bar_config(disable=True)
    return _pipeline_diff(folder, desc, pipe, torch.float32)


def _pipeline_diff(folder: str, desc: dict, pipe, dtype) -> float:
    noise = _noise_module().gaussian_noise(RECIPE["seed"], (1, *desc["latent_shape"]))
    latents = torch.from_numpy(noise).to(dtype)
    h, w = desc["image_size"]
    kwargs = {"negative_prompt": None} if desc["exercises"]["sdxl_unet_inputs"] else {"negative_prompt": ""}
    out = pipe(RECIPE["prompt"], num_inference_steps=RECIPE["num_inference_steps"], height=h, width=w,
               guidance_scale=RECIPE["guidance_scale"], latents=latents, output_type="np", **kwargs).images[0]
    ours = np.asarray(Image.open(os.path.join(folder, "reference.png")), dtype=np.float64)
    theirs = (np.clip(np.asarray(out, dtype=np.float64), 0, 1) * 255).round()
    return float(np.abs(ours - theirs).max())


def dump_json(obj, path: str) -> None:
    """indent=1 JSON with lists of numbers or strings on one line each."""
    def fmt(x, depth=0):
        pad = " " * (depth + 1)
        if isinstance(x, dict) and x:
            items = [f"{pad}{json.dumps(k)}: {fmt(v, depth + 1)}" for k, v in x.items()]
            return "{\n" + ",\n".join(items) + "\n" + " " * depth + "}"
        if isinstance(x, list) and any(isinstance(v, (dict, list)) for v in x):
            return "[\n" + ",\n".join(pad + fmt(v, depth + 1) for v in x) + "\n" + " " * depth + "]"
        return json.dumps(x)
    with open(path, "w") as f:
        f.write(fmt(obj) + "\n")


def versions() -> dict:
    names = ["optimum-onnx", "optimum", "transformers", "diffusers", "torch", "onnx", "onnxruntime", "numpy"]
    return {n: importlib.metadata.version(n) for n in names}


def write_index(fixtures: str, names: list[str]) -> dict:
    exports = json.load(open(os.path.join(fixtures, "exports.json")))
    index = {"generated_by": "tools/optimum_fixtures (see README.md here); do not edit", "versions": versions(),
             "fixtures": {}}
    for name in names:
        folder = os.path.join(fixtures, name)
        entry = describe.describe(folder)
        ref = json.load(open(os.path.join(folder, "reference.json")))
        entry["export"] = exports[name]
        entry["reference"] = {"json": "reference.json", "images": ref["images"], "timesteps": ref["timesteps"],
                              "recipe": ref["recipe"], "checks": ref.get("checks", {}),
                              "metadata_mismatches": ref["metadata_mismatches"]}
        index["fixtures"][name] = entry
    dump_json(index, os.path.join(fixtures, "index.json"))
    return index


README = """# Generated — do not edit

ONNX folders written by optimum's own exporter (`optimum-cli export onnx --task text-to-image`) from tiny
randomly initialised diffusers pipelines, with Python onnxruntime reference images, for the app's tests of
folders people export themselves. Written by `tools/optimum_fixtures/reference.py`.

## Regenerate

A throwaway venv (optimum-onnx pins transformers < 4.58; the repo's venv has transformers 5):

```
python3.11 -m venv /tmp/optimum-venv
/tmp/optimum-venv/bin/pip install torch=={torch}   # first and alone, so pip never picks another torch
echo "torch=={torch}" > /tmp/torch-constraint.txt
/tmp/optimum-venv/bin/pip install -c /tmp/torch-constraint.txt -r tools/optimum_fixtures/requirements.txt
/tmp/optimum-venv/bin/python tools/optimum_fixtures/make_fixtures.py --out tests/fixtures/optimum
```

make_fixtures.py exports every folder, then runs reference.py (alone: `/tmp/optimum-venv/bin/python
tools/optimum_fixtures/reference.py --fixtures tests/fixtures/optimum`), which writes each folder's
reference.json / reference.png / reference_x0.png, index.json and this README. The repo's own test,
tests/distill/test_optimum_fixtures.py, checks index.json against the graphs with the main venv.

## Versions

{versions}

## Exports

{exports}

## Fixtures (read from the exported graphs; details in index.json)

{fixtures}

## Shape metadata that disagrees (model.onnx, onnxruntime's session, what the graph returns)

{mismatches}

## Reference recipe (per folder: reference.json, reference.png, reference_x0.png)

{recipe}
"""


def write_readme(fixtures: str, index: dict) -> None:
    v = index["versions"]
    rows = ["| folder | pipeline | timestep | fp16 I/O | external data | prediction (scheduler, spacing: steps) | "
            "SDXL inputs | image | reference vs optimum / PyTorch |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    exports = []
    for name, e in index["fixtures"].items():
        x = e["exercises"]
        checks = " / ".join(f"{c:g}/255" for c in e["reference"]["checks"].values()) or "not checked"
        rows.append(f"| {name} | {x['class_name']} (`{x['vae_key']}` key) | rank {x['timestep_rank']} "
                    f"{x['timestep_dtype']} | {'yes' if x['fp16_inputs'] or x['fp16_outputs'] else 'no'} | "
                    f"{', '.join(x['external_data']) or 'no'} | {x['prediction_type']} "
                    f"({e['scheduler']['_class_name']}, {e['scheduler']['timestep_spacing']}: "
                    f"{', '.join(f'{t:g}' for t in e['reference']['timesteps'])}) | "
                    f"{', '.join(x['sdxl_unet_inputs']) or '-'} | {e['image_size'][0]}×{e['image_size'][1]} | {checks} |")
        env = " ".join(f"{k}={val}" for k, val in e["export"]["env"].items())
        removed = "; vae_encoder/ removed afterwards" if e["export"]["vae_encoder_removed"] else ""
        exports.append(f"- `{name}`: `{(env + ' ') if env else ''}{e['export']['command']}`{removed}")
    recipe = "Recipe (" + __doc__.split("Recipe (")[1].split("\n\n")[0]
    mismatches = [f"- {name}: {m}" for name, e in index["fixtures"].items() for m in e["reference"]["metadata_mismatches"]]
    text = README.format(torch=v["torch"].split("+")[0], versions="\n".join(f"- {k} {val}" for k, val in v.items()),
                         exports="\n".join(exports), fixtures="\n".join(rows), recipe=recipe,
                         mismatches="\n".join(mismatches) or "none")
    with open(os.path.join(fixtures, "README.md"), "w") as f:
        f.write(text)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fixtures", default=os.path.join(ROOT, "tests", "fixtures", "optimum"))
    p.add_argument("--pipelines", default=None, help="folder of the PyTorch pipelines make_fixtures.py saved "
                   "(one subfolder per builder); checks each reference against its PyTorch pipeline too")
    p.add_argument("--no-optimum-check", action="store_true")
    return p.parse_args(argv)


def main(args) -> dict:
    exports = json.load(open(os.path.join(args.fixtures, "exports.json")))
    names = [n for n in exports if os.path.isdir(os.path.join(args.fixtures, n))]
    for name in names:
        folder = os.path.join(args.fixtures, name)
        record = reference(folder)
        checks = {}
        if not args.no_optimum_check:
            checks["optimum ORTDiffusionPipeline"] = optimum_check(folder)
        pipeline_dir = args.pipelines and os.path.join(args.pipelines, exports[name]["builder"])
        if pipeline_dir and os.path.isdir(pipeline_dir):
            checks["PyTorch pipeline"] = torch_check(folder, pipeline_dir)
        record["checks"] = checks
        dump_json(record, os.path.join(folder, "reference.json"))
        print(name, record["timesteps"], record["images"]["reference.png"]["shape"], checks, flush=True)
    index = write_index(args.fixtures, names)
    write_readme(args.fixtures, index)
    return index


if __name__ == "__main__":
    main(parse_args())
