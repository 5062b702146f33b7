"""ONNX bundles: export with parity checks, and reading a bundle back through onnxruntime."""
