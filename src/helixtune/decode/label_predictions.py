"""Predictions made from reference labels: the "perfect network" input for checking the decoder, and
how train's gene-level check (train/gene_check.py) turns validation labels into reference gene models.

Upstream's reference outputs of HelixerPost on labels were made this way: `data/y` and `data/phases` of a
geenuff2h5 file cast to float16, with all-zero padding rows set to intergenic / no phase.
"""

from __future__ import annotations

import numpy as np

from helixtune import h5layout
from helixtune.atomic import atomic_output


def one_hot_with_padding_as_first_class(labels: np.ndarray) -> np.ndarray:
    """int8 one-hot (..., 4) -> float16, padding (all zero) becomes class 0."""
    out = labels.astype(np.float16)
    padding = labels.sum(axis=-1) == 0
    out[padding, 0] = 1.0
    return out


def write_label_predictions(annotated_h5, out_h5, rows_per_batch: int = 64) -> None:
    """Write a predictions.h5 (`predictions`, `predictions_phase`) whose values are the labels of `annotated_h5`."""
    with h5layout.open_h5(annotated_h5) as src:
        h5layout.require_datasets(src, (h5layout.Y, h5layout.PHASES), annotated_h5)
        y, phases = src[h5layout.Y.path], src[h5layout.PHASES.path]
        n_rows, length = y.shape[0], y.shape[1]
        with atomic_output(out_h5) as tmp:
            import h5py

            with h5py.File(tmp, "w") as dst:
                pred = h5layout.create_dataset(dst, h5layout.PREDICTIONS, n_rows, length)
                phase = h5layout.create_dataset(dst, h5layout.PREDICTIONS_PHASE, n_rows, length)
                for start in range(0, n_rows, rows_per_batch):
                    stop = min(n_rows, start + rows_per_batch)
                    pred[start:stop] = one_hot_with_padding_as_first_class(y[start:stop])
                    phase[start:stop] = one_hot_with_padding_as_first_class(phases[start:stop])
