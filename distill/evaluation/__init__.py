"""Measuring: metrics, eval, probes, learning curves, the experiment list, reproduce and its report."""
