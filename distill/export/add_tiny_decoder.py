"""Give an exported bundle its optional tiny VAE decoder (vae_decoder_tiny/, same contract as vae_decoder/) without
re-exporting anything else: the folder is written and manifest.json names it, records its parity and lists its files.
`export --tiny-decoder` does the same inside a full export.

python -m distill add-tiny-decoder --weights checkpoints/tiny-decoder --bundle models/shapescenes
"""
from __future__ import annotations

import argparse
import json

from .export import add_tiny_decoder


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Add (or replace) a bundle's optional vae_decoder_tiny/ from tiny-decoder "
                                "weights, refreshing manifest.json; the other graphs stay as they are.")
    p.add_argument("--weights", required=True, help="`distill tiny-decoder` run folder or its packed weights "
                   "(checkpoints/tiny-decoder)")
    p.add_argument("--bundle", required=True, help="an exported bundle folder, e.g. models/shapescenes")
    p.add_argument("--fp32-weights", action="store_true", help="store weights as fp32 (default: fp16 storage, fp32 compute)")
    return p.parse_args(argv)


def main(args) -> dict:
    manifest = add_tiny_decoder(args.bundle, args.weights, fp16_weights=not args.fp32_weights)
    files = [f for f in manifest["files"] if f["path"].startswith("vae_decoder_tiny/")]
    print(json.dumps({"bundle": args.bundle, "vae_decoder_tiny": files,
                      "parity_max_abs_diff": manifest["parity_max_abs_diff"]["vae_decoder_tiny"]}, indent=2))
    return manifest


if __name__ == "__main__":
    main(parse_args())
