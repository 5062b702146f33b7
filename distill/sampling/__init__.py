"""Samplers and recipes: noise-corrected DDIM, DPM-Solver++ through diffusers, LCMScheduler, portable noise."""
