"""tools/fixtures.add_tiny_decoder: the optional vae_decoder_tiny/ the app's tests open (tests/fixtures/tiny-bundle)."""
import json
import os
import shutil

import numpy as np

from distill.export.onnx import file_record, run_onnx
from tools.fixtures import TINY_DECODER, add_tiny_decoder

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_add_tiny_decoder_lists_a_graph_of_the_decoder_contract(tmp_path):
    shutil.copy(os.path.join(ROOT, "tests", "fixtures", "tiny-bundle", "manifest.json"), tmp_path / "manifest.json")
    add_tiny_decoder(str(tmp_path))
    manifest = add_tiny_decoder(str(tmp_path))  # idempotent: one record, the graph's own
    assert manifest["vae_decoder_tiny"] == TINY_DECODER
    assert [r for r in manifest["files"] if r["path"] == TINY_DECODER] == [file_record(str(tmp_path), TINY_DECODER)]
    assert manifest["parity_max_abs_diff"]["vae_decoder_tiny"] < 1e-4
    assert [r["path"] for r in manifest["files"]] == sorted(r["path"] for r in manifest["files"])
    c, h, w = manifest["latent_shape"]
    out = run_onnx(str(tmp_path / TINY_DECODER), {"latent_sample": np.zeros((2, c, h, w), np.float32)})[0]
    assert out.shape == (2, 3, *manifest["image_size"])
    assert np.abs(out).max() <= 1.0
    with open(tmp_path / "manifest.json") as f:
        assert json.load(f) == manifest
