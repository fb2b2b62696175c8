"""CUDA prediction equals CPU prediction (skipped without a CUDA device)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from helixtune.cli import main

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize("extra", [[], ["--mixed-precision"], ["--overlap"]])
def test_cuda_matches_cpu(tmp_path, model_dir, mini_h5, has_cuda, extra):
    outputs = []
    for device in ("cpu", "cuda"):
        out = tmp_path / f"{device}.h5"
        assert main(["predict", "-l", str(model_dir / "small_default.h5"), "-t", str(mini_h5), "-p", str(out),
                     "--device", device, "--precision", "float32"] + (extra if device == "cuda" else
                                                                      [e for e in extra if e == "--overlap"])) == 0
        with h5py.File(out, "r") as h5:
            outputs.append([h5[k][:].astype(np.float32) for k in ("predictions", "predictions_phase")])
    for cpu, cuda in zip(*outputs):
        assert np.abs(cpu - cuda).max() <= 1e-3
