"""Helpers for the model and predict tests: the upstream models and their sampled predictions (tests/data/model)."""

from __future__ import annotations

import h5py
import numpy as np

from helixtune.h5layout import rotate_minus_padding_first

COVERAGE_DATASETS = ("evaluation/rnaseq_coverage", "evaluation/rnaseq_spliced_coverage")


def model_dir_of(test_data):
    return test_data / "model"


def mini_h5_of(test_data):
    return test_data / "micromonas" / "micromonas_mini.geenuff2h5.h5"


def model_inputs(h5_path, rows=slice(None), coverage: bool = False) -> np.ndarray:
    """The test file's rows as upstream's HybridModel feeds them (padded minus chunks padding-first)."""
    with h5py.File(h5_path, "r") as h5:
        start_ends = h5["data/start_ends"][rows]
        parts = [h5["data/X"][rows]] + ([h5[name][rows] for name in COVERAGE_DATASETS] if coverage else [])
    parts = [rotate_minus_padding_first(p, start_ends).astype(np.float32) for p in parts]
    return np.concatenate(parts, axis=-1)


def upstream_sampled(model_dir, name):
    """(stride, {output: values}) of upstream's predictions for model `name`, every `stride`-th base."""
    with h5py.File(model_dir / "upstream_predictions_sampled.h5", "r") as h5:
        group = h5[name]
        return int(h5.attrs["stride"]), {key: group[key][:].astype(np.float32) for key in group}
