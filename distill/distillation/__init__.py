"""Few-step students: Imagine Flash and the Table 1 baselines, on shared student machinery (common.py)."""
