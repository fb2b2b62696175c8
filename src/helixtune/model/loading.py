"""Open any model a user may hand us: a helixtune model file (safetensors) or an upstream Keras `.h5`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from helixtune.errors import InputFileError
from helixtune.model import keras_import, model_file

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


@dataclass
class LoadedModel:
    model: object  # HybridModel | FineTunedModel, in eval mode
    metadata: dict  # helixtune metadata (built on the fly for Keras files)
    path: Path
    source_format: str  # "helixtune" | "keras"

    @property
    def model_config_attr(self) -> str:
        """What predictions files carry as `model_config`: upstream's Keras JSON when known, else ours."""
        return self.metadata.get("keras_model_config") or json.dumps(self.metadata["architecture"])

    @property
    def coverage_datasets(self) -> list[str]:
        inputs = self.metadata.get("coverage_inputs") or {}
        return list(inputs.get("datasets") or [])


def _is_hdf5(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(8) == HDF5_SIGNATURE


def open_model(path, pretrained_model_path=None, coverage_norm=..., device="cpu") -> LoadedModel:
    """Load a model file of either format; `coverage_norm` and `pretrained_model_path` matter for Keras
    coverage models only (upstream does not record the normalisation; the pretrained model is optional
    and recorded as the base)."""
    from helixtune.data import resolve_model_path

    path = Path(resolve_model_path(path))  # `bundled` / `bundled:NAME`: a model shipped with the package
    if not path.exists():
        raise InputFileError(path, "no such file")
    if path.is_dir():
        raise InputFileError(path, "is a directory, not a model file")
    if _is_hdf5(path):
        model, info, base_info = keras_import.read_keras_model(path, coverage_norm=coverage_norm,
                                                               pretrained_model_path=pretrained_model_path)
        metadata = {"architecture": model.architecture(), "coverage_inputs": model_file.default_coverage_inputs(model)}
        metadata.update(keras_import.keras_metadata(info, base_info))
        model.to(device)
        _refuse_non_finite_weights(model, path)
        return LoadedModel(model, metadata, path, "keras")
    model, metadata = model_file.load_model(path, device=device)
    _refuse_non_finite_weights(model, path)
    return LoadedModel(model, metadata, path, "helixtune")


def _refuse_non_finite_weights(model, path) -> None:
    """A model with NaN or infinite weights predicts NaN everywhere: refuse it when it is loaded."""
    import torch

    for name, tensor in model.state_dict().items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise InputFileError(path, f"the weights '{name}' contain NaN or infinite values; the model is damaged "
                                       "(a training run that diverged?)")
