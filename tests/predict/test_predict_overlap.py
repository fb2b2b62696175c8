"""`--overlap`: upstream's window/trim/mean rule, independent of batch size; parity with upstream on the
released-size model (larger shared files; set HELIXTUNE_SLOW_TESTS=1 to run those)."""

from __future__ import annotations

import os

import h5py
import numpy as np
import pytest
import torch

from modelhelpers import model_inputs
from helixtune.cli import main
from helixtune.model.keras_import import read_keras_model

SLOW = pytest.mark.skipif(not os.environ.get("HELIXTUNE_SLOW_TESTS"),
                          reason="released-size parity runs ~2 min on 2 cores; set HELIXTUNE_SLOW_TESTS=1")


def _subset(src, dst, rows):
    with h5py.File(src, "r") as a, h5py.File(dst, "w") as b:
        for name in ("data/X", "data/seqids", "data/species", "data/start_ends"):
            b.create_dataset(name, data=a[name][rows], chunks=(1,) + a[name].shape[1:])
    return dst


def _naive_overlap(model, x_rows, offset, core):
    """Upstream's overlap merge written out for one range: all windows, trimmed, unweighted mean."""
    m, length = x_rows.shape[0], x_rows.shape[1]
    sequence = x_rows.reshape(m * length, -1)
    starts = list(range(0, m * length - length + 1, offset))
    if starts[-1] + length != m * length:
        starts.append(m * length - length)
    trim = (length - core) // 2
    total = np.zeros((m * length, 4))
    count = np.zeros(m * length)
    with torch.inference_mode():
        for j, s in enumerate(starts):
            genic = model(torch.from_numpy(sequence[None, s:s + length]))[0].reshape(length, 4).numpy()
            lo = trim if j > 0 else 0
            hi = length - (trim if j < len(starts) - 1 else 0)
            total[s + lo:s + hi] += genic[lo:hi]
            count[s + lo:s + hi] += 1
    return (total / count[:, None]).reshape(m, length, 4)


def test_overlap_follows_the_windowing_rule(tmp_path, model_dir, mini_h5):
    rows = np.r_[0:5, 24:28]  # a 5-chunk plus-strand range, then short single-chunk ranges
    test_h5 = _subset(mini_h5, tmp_path / "t.h5", rows)
    out = tmp_path / "p.h5"
    assert main(["predict", "-l", str(model_dir / "small_default.h5"), "-t", str(test_h5), "-p", str(out),
                 "--overlap", "--padded-minus-layout", "helixer-0.3.6", "-b", "4"]) == 0
    model, _, _ = read_keras_model(model_dir / "small_default.h5")
    x = model_inputs(test_h5)
    length = x.shape[1]
    expected = np.concatenate([_naive_overlap(model, x[0:5], length // 2, int(length * 3 / 4))] +
                              [_naive_overlap(model, x[i:i + 1], length // 2, int(length * 3 / 4)) for i in range(5, 9)])
    with h5py.File(out, "r") as h5:
        ours = h5["predictions"][:].astype(np.float32)
        assert h5.attrs["overlap"] == f"offset {length // 2}, core length {int(length * 3 / 4)}"
    assert np.abs(ours - expected).max() <= 1e-3
    # overlapping really changes the inner chunks, and single-chunk ranges equal plain prediction
    plain = tmp_path / "plain.h5"
    assert main(["predict", "-l", str(model_dir / "small_default.h5"), "-t", str(test_h5), "-p", str(plain),
                 "--padded-minus-layout", "helixer-0.3.6"]) == 0
    with h5py.File(plain, "r") as h5:
        plain_values = h5["predictions"][:].astype(np.float32)
    assert np.abs(plain_values[1:4] - ours[1:4]).max() > 0.01
    assert np.abs(plain_values[5:] - ours[5:]).max() <= 1e-3


def test_overlap_does_not_depend_on_batch_size(tmp_path, model_dir, mini_h5):
    test_h5 = _subset(mini_h5, tmp_path / "t.h5", np.r_[12:18])  # minus strand, padded chunk first
    outputs = []
    for batch in ("2", "13"):
        out = tmp_path / f"p{batch}.h5"
        # offset that does not divide the subsequence length: upstream's sub-batches would disagree here
        assert main(["predict", "-l", str(model_dir / "small_default.h5"), "-t", str(test_h5), "-p", str(out),
                     "--overlap", "--overlap-offset", "5000", "--overlap-core-length", "15000", "-b", batch]) == 0
        with h5py.File(out, "r") as h5:
            outputs.append([h5[k][:].astype(np.float32) for k in ("predictions", "predictions_phase")])
    for a, b in zip(*outputs):
        assert np.abs(a - b).max() <= 1e-3


@SLOW
@pytest.mark.parametrize("overlap", [False, True])
def test_released_size_parity(tmp_path, shared_data, overlap):
    model = shared_data / "reference_models/released_size.h5"
    expected_path = shared_data / ("reference_models/released_size.predictions" + ("_overlap" if overlap else "") + ".h5")
    test_h5 = shared_data / "reference_outputs/micromonas_mini.geenuff2h5.h5"
    if not (model.exists() and expected_path.exists() and test_h5.exists()):
        pytest.skip("released-size reference model files not available")
    out = tmp_path / "p.h5"
    extra = ["--overlap", "--overlap-offset", "10692", "--overlap-core-length", "16038"] if overlap else []
    assert main(["predict", "-l", str(model), "-t", str(test_h5), "-p", str(out), "-b", "8",
                 "--padded-minus-layout", "helixer-0.3.6"] + extra) == 0
    with h5py.File(out, "r") as ours, h5py.File(expected_path, "r") as upstream:
        for key in ("predictions", "predictions_phase"):
            diff = np.abs(ours[key][:].astype(np.float32) - upstream[key][:].astype(np.float32))
            assert diff.max() <= 1e-3
