"""Fixtures of the train tests: small real training sets cut from tests/data/train with the project's h5 layout."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from helixtune import h5layout

COVERAGE_SPECS = (h5layout.coverage_spec("rnaseq"), h5layout.spliced_coverage_spec("rnaseq"))


def _copy_rows(src, dst, rows, edit=None, length=None) -> None:
    """Write the annotated datasets of `rows` of `src` to a new file `dst` (optionally edited in memory).

    `length` crops every chunk to its first `length` bases (real bases stay first in the stored layout, so
    start_ends are shortened to match and padded chunks stay padded): the same real labels, cheaper to train.
    """
    with h5py.File(src, "r") as s:
        specs = list(h5layout.ANNOTATED_DATASETS) + [spec for spec in COVERAGE_SPECS if spec.path in s]
        arrays = {spec.path: s[spec.path][rows] for spec in specs}
        full = s[h5layout.X.path].shape[1]
    length = length or full
    if length < full:
        for spec in specs:
            if h5layout.L in spec.tail:
                arrays[spec.path] = arrays[spec.path][:, :length]
        se = arrays[h5layout.START_ENDS.path].copy()
        real = np.minimum(np.abs(se[:, 1] - se[:, 0]), length)
        se[:, 1] = np.where(se[:, 1] > se[:, 0], se[:, 0] + real, se[:, 0] - real)
        arrays[h5layout.START_ENDS.path] = se
        arrays[h5layout.ERR_SAMPLES.path] = (arrays[h5layout.SAMPLE_WEIGHTS.path] != 0).any(axis=1)
    if edit is not None:
        edit(arrays)
    with h5py.File(dst, "w") as d:
        for spec in specs:
            h5layout.create_dataset(d, spec, len(rows), length, data=arrays[spec.path],
                                    n_tracks=arrays[spec.path].shape[-1] if h5layout.TRACKS in spec.tail else None)



# chunks cropped to 2,160 bases (240 timesteps of 9): training steps take milliseconds instead of seconds
TINY_LENGTH = 2160


@pytest.fixture(scope="session")
def copy_rows():
    """copy_rows(src, dst, rows, edit=None): a new training-format file from some rows of another."""
    return _copy_rows


@pytest.fixture(scope="session")
def tiny_length():
    return TINY_LENGTH


@pytest.fixture
def tiny_data_dir(test_data, tmp_path):
    """4 training chunks (plus, minus, the padded minus chunk) and 3 validation chunks, cropped to 2,160 bases."""
    folder = tmp_path / "data"
    folder.mkdir()
    _copy_rows(test_data / "train" / "training_data.h5", folder / "training_data.h5", [0, 1, 12, 13],
               length=TINY_LENGTH)
    _copy_rows(test_data / "train" / "validation_data.h5", folder / "validation_data.h5", [0, 4, 7],
               length=TINY_LENGTH)
    return folder

