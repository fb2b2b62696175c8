"""Upstream Keras .h5 models read with h5py reproduce upstream's own predictions (forward-pass parity)."""

from __future__ import annotations

import json
import shutil

import h5py
import numpy as np
import pytest
import torch

from modelhelpers import model_inputs, upstream_sampled
from helixtune.errors import InputFileError
from helixtune.model.keras_import import read_keras_model
from helixtune.model.network import FineTunedModel, HybridModel

CASES = {  # model -> (test file, rows, coverage)
    "small_default": ("mini", slice(0, 28)),
    "small_nophase": ("mini", slice(0, 28)),
    "small_default_ft": ("mini", slice(20, 28)),
    "small_default_ftcov": ("cov", slice(0, 12)),
    "small_default_ftcov_hidden": ("cov", slice(0, 12)),
}


def _predict(model, x, batch=8):
    outs = []
    with torch.inference_mode():
        for i in range(0, len(x), batch):
            result = model(torch.from_numpy(x[i:i + batch]))
            outs.append([r.reshape(r.shape[0], -1, 4).numpy() for r in result if r is not None])
    return [np.concatenate([o[k] for o in outs]) for k in range(len(outs[0]))]


@pytest.mark.parametrize("name", list(CASES))
def test_forward_parity_with_upstream_predictions(name, model_dir, mini_h5):
    source, rows = CASES[name]
    coverage = source == "cov"
    h5_path = model_dir / "spombe_cov_test.h5" if coverage else mini_h5
    model, info, _ = read_keras_model(model_dir / f"{name}.h5", coverage_norm="log" if coverage else ...)
    assert isinstance(model, FineTunedModel) == coverage
    outputs = _predict(model, model_inputs(h5_path, rows, coverage))
    stride, expected = upstream_sampled(model_dir, name)
    assert len(outputs) == len(expected) == (1 if name == "small_nophase" else 2)
    for ours, key in zip(outputs, ("predictions", "predictions_phase")):
        ours16 = ours[:, ::stride].astype(np.float16).astype(np.float32)
        assert ours16.shape == expected[key].shape
        assert np.abs(ours16 - expected[key]).max() <= 1e-3


def test_layouts_are_recognised(model_dir):
    model, info, _ = read_keras_model(model_dir / "small_default_ft.h5")
    assert isinstance(model, HybridModel) and info.upstream_fine_tuned
    model, info, _ = read_keras_model(model_dir / "small_default_ftcov_hidden.h5", coverage_norm="log")
    assert model.hidden.out_features == 16 and model.coverage_tracks == 1 and model.excerpt_lstm_layers == 0
    assert info.kind == "coverage_fine_tuned"


def test_coverage_model_needs_its_normalisation(model_dir):
    with pytest.raises(InputFileError, match="--coverage-norm"):
        read_keras_model(model_dir / "small_default_ftcov.h5")


def test_pretrained_model_is_checked_and_recorded(model_dir):
    model, _, base = read_keras_model(model_dir / "small_default_ftcov.h5", coverage_norm="log",
                                      pretrained_model_path=model_dir / "small_default.h5")
    assert base["name"] == "small_default.h5" and len(base["md5"]) == 32
    assert model.base.config.lstm_layers == 1 and model.excerpt_lstm_layers == 0


def _rewrite_config(src, dst, edit):
    shutil.copyfile(src, dst)
    with h5py.File(dst, "r+") as h5:
        config = json.loads(h5.attrs["model_config"])
        edit(config)
        h5.attrs["model_config"] = json.dumps(config)


@pytest.mark.parametrize("edit, message", [
    (lambda c: c["config"]["layers"][1]["config"].update(activation="tanh"), "relu"),
    (lambda c: c["config"]["layers"][3]["config"]["layer"].update(class_name="GRU"), "GRU"),
    (lambda c: c["config"]["layers"].insert(4, {"class_name": "Dense", "name": "extra",
                                                  "config": {"name": "extra", "units": 64, "activation": "relu"}}),
     "not linear|Dense"),
])
def test_other_architectures_are_refused(tmp_path, model_dir, edit, message):
    path = tmp_path / "other.h5"
    _rewrite_config(model_dir / "small_default.h5", path, edit)
    with pytest.raises(InputFileError, match=message) as err:
        read_keras_model(path)
    assert "\n" not in str(err.value) and "other.h5" in str(err.value)


def test_files_that_are_not_keras_models(tmp_path, mini_h5):
    with pytest.raises(InputFileError, match="not a Keras model"):
        read_keras_model(mini_h5)
    text = tmp_path / "model.h5"
    text.write_text("hello")
    with pytest.raises(InputFileError, match="not an HDF5"):
        read_keras_model(text)
