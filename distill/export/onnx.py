"""ONNX helpers: export a module, store weights as fp16 while the graph computes in fp32, check parity."""
from __future__ import annotations

import hashlib
import os

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import TensorProto, helper, numpy_helper


def export_module(module: torch.nn.Module, inputs: tuple, path: str, input_names: list[str], output_names: list[str],
                  dynamic_axes: dict, opset: int = 17) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # the TorchScript exporter: the dynamo exporter needs onnxscript and traces diffusers' UNet less reliably
    module.eval().requires_grad_(False)
    torch.onnx.export(module, inputs, path, input_names=input_names, output_names=output_names,
                      dynamic_axes=dynamic_axes, opset_version=opset, dynamo=False, do_constant_folding=True)


def store_weights_fp16(path: str, min_elements: int = 16) -> None:
    """Rewrites float32 initializers as float16 plus a Cast back to float32: half the bytes on disk and over
    the wire, while every op still computes in fp32 (the software WebGPU adapter has no shader-f16)."""
    model = onnx.load(path)
    graph = model.graph
    casts, kept = [], []
    for init in graph.initializer:
        if init.data_type == TensorProto.FLOAT and int(np.prod(init.dims)) >= min_elements:
            arr = numpy_helper.to_array(init).astype(np.float16)
            half = numpy_helper.from_array(arr, init.name + "_fp16")
            kept.append(half)
            casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT,
                                          name=init.name + "_cast"))
        else:
            kept.append(init)
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    onnx.checker.check_model(model)
    onnx.save(model, path)


def round_weights_fp16(module: torch.nn.Module) -> torch.nn.Module:
    """The same rounding as store_weights_fp16, applied to the PyTorch module (parity is checked against it)."""
    with torch.no_grad():
        for p in module.parameters():
            if p.numel() >= 16:
                p.copy_(p.half().float())
    return module


def run_onnx(path: str, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"]).run(None, feeds)


def max_abs_diff(a, b) -> float:
    return float(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)).max())


def file_record(root: str, rel: str) -> dict:
    path = os.path.join(root, rel)
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return {"path": rel, "bytes": os.path.getsize(path), "sha256": h.hexdigest()}
