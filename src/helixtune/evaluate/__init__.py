"""Evaluation: base-wise metrics (upstream Helixer\x27s), feature-level comparison (gffcompare-style), report."""
