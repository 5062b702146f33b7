"""Imagine Flash distillation on ShapeScenes (ARCHITECTURE.md has the package map)."""
import os

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the checkout: eval/, checkpoints/, reports/
