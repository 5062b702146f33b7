"""tests/fixtures/optimum: the folders optimum's exporter wrote (tools/optimum_fixtures/) are all there, and
index.json says what they hold. Graph metadata is read here with code of its own (and onnxruntime's
sessions), not with tools/optimum_fixtures/describe.py that wrote the index, so a wrong entry cannot agree
with itself."""
import json
import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx.external_data_helper import ExternalDataInfo, uses_external_data
from PIL import Image


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "optimum")
with open(os.path.join(FIXTURES, "index.json")) as f:
    INDEX = json.load(f)["fixtures"]

# what each folder is there to exercise; a regeneration that loses one of these fails here
EXPECTED = {
    "sd15-fp32": {"class_name": "StableDiffusionPipeline", "prediction_type": "epsilon", "fp16": False,
                  "external": False, "sdxl": False},
    "sd15-fp16": {"class_name": "StableDiffusionPipeline", "prediction_type": "epsilon", "fp16": True,
                  "external": False, "sdxl": False},
    "sd15-external": {"class_name": "StableDiffusionPipeline", "prediction_type": "epsilon", "fp16": False,
                      "external": True, "sdxl": False},
    "sd2-vpred-fp32": {"class_name": "StableDiffusionPipeline", "prediction_type": "v_prediction", "fp16": False,
                       "external": False, "sdxl": False},
    "sdxl-fp32": {"class_name": "StableDiffusionXLPipeline", "prediction_type": "epsilon", "fp16": False,
                  "external": False, "sdxl": True},
}
ORT_DTYPES = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(int64)": "int64",
              "tensor(int32)": "int32"}


def _json(*parts):
    with open(os.path.join(*parts)) as f:
        return json.load(f)


def _session(folder, component):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(os.path.join(folder, component, "model.onnx"), opts,
                                providers=["CPUExecutionProvider"])


def _ort_io(args, shapes=True):
    return [{"name": a.name, "dtype": ORT_DTYPES[a.type], **({"shape": list(a.shape)} if shapes else {})}
            for a in args]


def _declared_io(values):
    """name, dtype and shape as model.onnx declares them (onnxruntime may refine output shapes)."""
    out = []
    for v in values:
        t = v.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else d.dim_param if d.HasField("dim_param") else None
                 for d in t.shape.dim]
        out.append({"name": v.name, "dtype": np.dtype(onnx.helper.tensor_dtype_to_np_dtype(t.elem_type)).name,
                    "shape": shape})
    return out


def _external_files(folder, component):
    model = onnx.load(os.path.join(folder, component, "model.onnx"), load_external_data=False)
    tensors = list(model.graph.initializer) + [a.t for n in model.graph.node for a in n.attribute if a.HasField("t")]
    return sorted({os.path.join(component, ExternalDataInfo(t).location) for t in tensors if uses_external_data(t)})


def test_index_lists_every_fixture_and_only_those():
    folders = {d for d in os.listdir(FIXTURES) if os.path.isdir(os.path.join(FIXTURES, d))}
    assert set(INDEX) == set(EXPECTED), "index.json must list exactly the fixtures this test expects"
    assert folders == set(EXPECTED), f"folders under tests/fixtures/optimum: {sorted(folders)}"


@pytest.fixture(params=sorted(EXPECTED), scope="module")
def fixture(request):
    name = request.param
    assert name in INDEX, f"index.json has no entry for {name}"
    return name, os.path.join(FIXTURES, name), INDEX[name]


def test_files_exist(fixture):
    name, folder, entry = fixture
    needed = ["model_index.json", "scheduler/scheduler_config.json", "reference.json", *entry["reference"]["images"]]
    for component, graph in entry["graphs"].items():
        needed += [graph["path"], f"{component}/config.json", *graph["external_data"]]
    for te in entry["exercises"]["text_encoders"]:
        tok = te.replace("text_encoder", "tokenizer")
        needed += [f"{tok}/vocab.json", f"{tok}/merges.txt", f"{tok}/tokenizer_config.json"]
    missing = [p for p in needed if not os.path.isfile(os.path.join(folder, p))]
    assert not missing, f"{name}: missing {missing}"
    graphs = sorted(c for c in os.listdir(folder) if os.path.isfile(os.path.join(folder, c, "model.onnx")))
    assert graphs == sorted(entry["graphs"]), f"{name}: graphs on disk {graphs}"


def test_graph_metadata_matches_index(fixture):
    name, folder, entry = fixture
    for component, graph in entry["graphs"].items():
        model = onnx.load(os.path.join(folder, graph["path"]), load_external_data=False)
        assert _declared_io(model.graph.input) == graph["inputs"], f"{name}/{component} inputs"
        assert _declared_io(model.graph.output) == graph["outputs"], f"{name}/{component} outputs"
        session = _session(folder, component)  # also proves the graph and its external data load
        assert _ort_io(session.get_inputs()) == graph["inputs"], f"{name}/{component} inputs (onnxruntime)"
        strip = [{k: v for k, v in o.items() if k != "shape"} for o in graph["outputs"]]
        assert _ort_io(session.get_outputs(), shapes=False) == strip, f"{name}/{component} outputs (onnxruntime)"
        assert _external_files(folder, component) == graph["external_data"], f"{name}/{component} external data"


def test_exercises_match_graphs_and_configs(fixture):
    name, folder, entry = fixture
    x, want = entry["exercises"], EXPECTED[name]
    index = _json(folder, "model_index.json")
    scheduler = _json(folder, "scheduler", "scheduler_config.json")
    sessions = {c: _session(folder, c) for c in entry["graphs"]}
    io = {c: {a.name: a for a in [*s.get_inputs(), *s.get_outputs()]} for c, s in sessions.items()}
    unet_inputs = [a.name for a in sessions["unet"].get_inputs()]
    timestep = io["unet"]["timestep"]

    assert x["class_name"] == index["_class_name"] == want["class_name"]
    assert x["vae_key"] == ("vae" if "vae" in index else "vae_decoder")
    assert x["prediction_type"] == scheduler["prediction_type"] == want["prediction_type"]
    assert entry["scheduler"] == {k: scheduler.get(k) for k in entry["scheduler"]}
    assert x["timestep_rank"] == len(timestep.shape)
    assert x["timestep_dtype"] == ORT_DTYPES[timestep.type]
    assert x["unet_inputs"] == unet_inputs
    assert x["text_encoders"] == sorted(c for c in sessions if c.startswith("text_encoder"))
    assert x["input_ids_dtype"] == sorted({ORT_DTYPES[io[c]["input_ids"].type] for c in x["text_encoders"]})
    fp16 = {kind: sorted(f"{c}:{a.name}" for c, s in sessions.items()
                         for a in (s.get_inputs() if kind == "inputs" else s.get_outputs())
                         if a.type == "tensor(float16)") for kind in ("inputs", "outputs")}
    assert x["fp16_inputs"] == fp16["inputs"] and x["fp16_outputs"] == fp16["outputs"]
    assert bool(fp16["inputs"]) == bool(fp16["outputs"]) == want["fp16"]
    assert x["external_data"] == sorted(e for c in sessions for e in _external_files(folder, c))
    assert bool(x["external_data"]) == want["external"]
    assert x["sdxl_unet_inputs"] == [n for n in unet_inputs if n in ("text_embeds", "time_ids")]
    assert (x["sdxl_unet_inputs"] == ["text_embeds", "time_ids"]) == want["sdxl"]
    assert ("text_encoder_2" in sessions) == want["sdxl"]
    assert x["vae_encoder"] == ("vae_encoder" in sessions)

    unet_config, vae_config = _json(folder, "unet", "config.json"), _json(folder, "vae_decoder", "config.json")
    side = unet_config["sample_size"] * 2 ** (len(vae_config["block_out_channels"]) - 1)
    assert entry["image_size"] == [side, side]
    assert entry["latent_shape"] == [unet_config["in_channels"], unet_config["sample_size"], unet_config["sample_size"]]


def test_reference_images_load_with_the_stated_shape(fixture):
    name, folder, entry = fixture
    ref = _json(folder, "reference.json")
    assert ref["images"] == entry["reference"]["images"]
    assert ref["timesteps"] == entry["reference"]["timesteps"]
    assert len(ref["timesteps"]) == ref["recipe"]["num_inference_steps"]
    for file, meta in entry["reference"]["images"].items():
        image = np.asarray(Image.open(os.path.join(folder, file)))
        assert image.dtype == np.uint8 and meta["dtype"] == "uint8"
        assert list(image.shape) == meta["shape"] == [*entry["image_size"], 3], f"{name}/{file}"
        assert int(image.astype(np.int64).sum()) == meta["sum"], f"{name}/{file} is not the recorded image"
        assert image.std() > 10, f"{name}/{file} is flat: a reference that cannot tell images apart"
    assert len(ref["final_latents"]) == int(np.prod(ref["final_latents_shape"]))
    assert ref["final_latents_shape"] == [1, *entry["latent_shape"]]
    assert all(d <= 2 for d in ref["checks"].values()), f"{name}: reference vs optimum/PyTorch {ref['checks']}"
