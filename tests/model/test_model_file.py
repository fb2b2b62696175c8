"""helixtune model files (safetensors + JSON metadata) and `helixtune convert-model`."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from helixtune.cli import main
from helixtune.errors import InputFileError
from helixtune.model.keras_import import read_keras_model
from helixtune.model.model_file import load_model, read_metadata, save_model
from helixtune.model.network import FineTunedModel, HybridModel


def _outputs(model, x):
    with torch.inference_mode():
        return [o for o in model(x) if o is not None]


def test_save_and_load_roundtrip(tmp_path):
    torch.manual_seed(3)
    model = FineTunedModel(HybridModel(cnn_layers=2, lstm_layers=2, units=8, filter_depth=8),
                           excerpt_lstm_layers=1, coverage_tracks=2, coverage_norm="log", hidden_units=4).freeze_base()
    path = tmp_path / "m.safetensors"
    save_model(path, model, {"provenance": {"command": "test"}, "base_model": {"sha256": "0" * 64}})
    loaded, meta = load_model(path)
    assert meta["provenance"]["command"] == "test" and meta["base_model"]["sha256"] == "0" * 64
    assert meta["coverage_inputs"]["datasets"] == ["evaluation/rnaseq_coverage", "evaluation/rnaseq_spliced_coverage"]
    assert loaded.base_frozen and not loaded.training
    x = torch.rand(2, 27, 8) * 5
    for a, b in zip(_outputs(model.eval(), x), _outputs(loaded, x)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize("name, norm", [("small_default", None), ("small_nophase", None),
                                        ("small_default_ftcov_hidden", "log")])
def test_convert_model_command_gives_identical_outputs(tmp_path, model_dir, name, norm, capsys):
    out = tmp_path / f"{name}.safetensors"
    argv = ["convert-model", str(model_dir / f"{name}.h5"), str(out)] + (["--coverage-norm", norm] if norm else [])
    assert main(argv) == 0
    assert "converted" in capsys.readouterr().err
    keras_model, _, _ = read_keras_model(model_dir / f"{name}.h5", coverage_norm=norm if norm else ...)
    ours, meta = load_model(out)
    assert meta["provenance"]["converted_from"] == f"{name}.h5"
    assert meta["keras_model_config"].startswith("{")
    channels = ours.input_channels
    x = torch.rand(2, 90, channels) * 3
    for a, b in zip(_outputs(keras_model, x), _outputs(ours, x)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_not_a_model_file(tmp_path, mini_h5):
    pickled = tmp_path / "evil.safetensors"
    pickled.write_bytes(pickle.dumps({"weights": np.zeros(3)}))
    with pytest.raises(InputFileError, match="not a helixtune model"):
        load_model(pickled)
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign))
    with pytest.raises(InputFileError, match="not a helixtune model"):
        read_metadata(foreign)


def test_weights_must_fit_the_architecture(tmp_path):
    path = tmp_path / "m.safetensors"
    save_model(path, HybridModel())
    tensors = {"convs.0.weight": torch.zeros(1)}
    from safetensors import safe_open
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
    save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(InputFileError, match="weights do not match"):
        load_model(path)


def test_convert_refuses_data_files(tmp_path, mini_h5, capsys):
    out = tmp_path / "x.safetensors"
    assert main(["convert-model", str(mini_h5), str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert "not a Keras model" in err and len(err.splitlines()) == 1 and not out.exists()
