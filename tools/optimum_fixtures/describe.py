"""What an exported diffusers/optimum ONNX folder contains, read from its files and its graphs' input/output
metadata (never assumed): the index entry of tests/fixtures/optimum/index.json. Needs only onnx and json."""
from __future__ import annotations

import json
import os

import onnx
from onnx.external_data_helper import ExternalDataInfo, uses_external_data


def _json(path: str) -> dict:
    with open(path) as f:
        return json.load(f)


def value_info(v: onnx.ValueInfoProto) -> dict:
    """name, numpy dtype name and shape (an int for a fixed dim, the symbol's name for a dynamic one, null when
    the graph states neither)."""
    t = v.type.tensor_type
    dims = [d.dim_value if d.HasField("dim_value") else d.dim_param if d.HasField("dim_param") else None
            for d in t.shape.dim]
    return {"name": v.name, "dtype": onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name, "shape": dims}


def graph_info(folder: str, component: str) -> dict:
    path = os.path.join(component, "model.onnx")
    model = onnx.load(os.path.join(folder, path), load_external_data=False)
    tensors = list(model.graph.initializer) + [a.t for n in model.graph.node for a in n.attribute if a.HasField("t")]
    external = sorted({ExternalDataInfo(t).location for t in tensors if uses_external_data(t)})
    return {"path": path, "external_data": [os.path.join(component, e) for e in external],
            "opset": max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
            "inputs": [value_info(v) for v in model.graph.input],
            "outputs": [value_info(v) for v in model.graph.output]}


def _io(graph: dict, name: str) -> dict | None:
    return next((v for v in graph["inputs"] + graph["outputs"] if v["name"] == name), None)


def describe(folder: str) -> dict:
    index = _json(os.path.join(folder, "model_index.json"))
    components = sorted(k for k, v in index.items() if isinstance(v, list) and v and v[0] is not None)
    graphs = {c: graph_info(folder, c) for c in sorted(os.listdir(folder))
              if os.path.isfile(os.path.join(folder, c, "model.onnx"))}
    scheduler = _json(os.path.join(folder, "scheduler", "scheduler_config.json"))
    unet_config = _json(os.path.join(folder, "unet", "config.json"))
    vae_config = _json(os.path.join(folder, "vae_decoder", "config.json"))
    factor = 2 ** (len(vae_config["block_out_channels"]) - 1)
    size = unet_config["sample_size"]
    unet = graphs["unet"]
    timestep = _io(unet, "timestep")
    fp16 = {kind: sorted(f"{c}:{v['name']}" for c, g in graphs.items() for v in g[kind] if v["dtype"] == "float16")
            for kind in ("inputs", "outputs")}
    text_encoders = sorted(c for c in graphs if c.startswith("text_encoder"))
    return {
        "model_index": {
            "_class_name": index["_class_name"],
            "components": components,
            "force_zeros_for_empty_prompt": index.get("force_zeros_for_empty_prompt"),
        },
        "scheduler": {k: scheduler.get(k) for k in ("_class_name", "prediction_type", "timestep_spacing",
                                                     "steps_offset", "num_train_timesteps")},
        "image_size": [size * factor, size * factor],
        "latent_shape": [unet_config["in_channels"], size, size],
        "vae_scaling_factor": vae_config["scaling_factor"],
        "graphs": graphs,
        "exercises": {
            "vae_key": "vae" if "vae" in components else "vae_decoder" if "vae_decoder" in components else None,
            "class_name": index["_class_name"],
            "timestep_rank": len(timestep["shape"]),
            "timestep_dtype": timestep["dtype"],
            "input_ids_dtype": sorted({_io(graphs[c], "input_ids")["dtype"] for c in text_encoders}),
            "fp16_inputs": fp16["inputs"],
            "fp16_outputs": fp16["outputs"],
            "external_data": sorted(e for g in graphs.values() for e in g["external_data"]),
            "prediction_type": scheduler.get("prediction_type", "epsilon"),
            "text_encoders": text_encoders,
            "unet_inputs": [v["name"] for v in unet["inputs"]],
            "sdxl_unet_inputs": [v["name"] for v in unet["inputs"] if v["name"] in ("text_embeds", "time_ids")],
            "vae_encoder": "vae_encoder" in graphs,
        },
    }
