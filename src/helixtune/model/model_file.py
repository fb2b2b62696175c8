"""helixtune model files: one `.safetensors` file = weights + JSON metadata (no pickle; loading runs no code).

Layout: a standard safetensors file whose header metadata holds one entry, `helixtune_model`, a JSON document:

    {"format": "helixtune-model", "format_version": 1,
     "architecture": {...},          # model.architecture(): kind hybrid|fine_tuned, network hyper-parameters,
                                     # fine-tune mode, excerpt depth, coverage tracks + normalisation, heads
     "coverage_inputs": {...}|null,  # h5 datasets the coverage columns come from, in order (+ BAM list if known)
     "base_model": {...}|null,       # the model this one was tuned from: file name, md5, sha256
     "provenance": {...},            # who/what made it: converted from (Keras file + md5), training data, command
     "keras_model_config": "..."|null,  # upstream's model_config JSON when converted (copied into predictions)
     "helixtune_version": "..."}

API:
    save_model(path, model, metadata=None)   # metadata: extra top-level entries (provenance, base_model, ...)
    load_model(path, device="cpu") -> (model, metadata)
    read_metadata(path) -> dict              # without building the model
    file_md5(path), file_sha256(path)
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from helixtune.atomic import atomic_output
from helixtune.errors import InputFileError
from helixtune.model.network import build_model

FORMAT_NAME = "helixtune-model"
FORMAT_VERSION = 1
METADATA_KEY = "helixtune_model"
# the coverage datasets upstream's HybridModel reads (hard-coded there; docs/coverage.md)
DEFAULT_COVERAGE_DATASETS = ("evaluation/rnaseq_coverage", "evaluation/rnaseq_spliced_coverage")


def _file_digest(path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_md5(path) -> str:
    return _file_digest(path, "md5")


def file_sha256(path) -> str:
    return _file_digest(path, "sha256")


def default_coverage_inputs(model) -> dict | None:
    if not getattr(model, "coverage_tracks", 0):
        return None
    return {"datasets": list(DEFAULT_COVERAGE_DATASETS), "tracks": int(model.coverage_tracks),
            "norm": model.coverage_norm, "bam_files": None}


def save_model(path, model: torch.nn.Module, metadata: dict | None = None) -> None:
    """Write `model` (HybridModel or FineTunedModel) with its architecture and `metadata` (atomically)."""
    from safetensors.torch import save_file

    from helixtune import __version__

    document = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION,
                "architecture": model.architecture(), "coverage_inputs": default_coverage_inputs(model),
                "base_model": None, "provenance": {}, "keras_model_config": None,
                "helixtune_version": __version__}
    for key, value in (metadata or {}).items():
        if key in ("format", "format_version", "architecture"):
            raise ValueError(f"metadata key {key!r} is written by save_model itself")
        document[key] = value
    tensors = {name: t.detach().to("cpu").contiguous() for name, t in model.state_dict().items()}
    with atomic_output(path) as tmp:
        save_file(tensors, str(tmp), metadata={METADATA_KEY: json.dumps(document)})


def read_metadata(path) -> dict:
    """The JSON metadata of a helixtune model file (one-line InputFileError when it is not one)."""
    from safetensors import safe_open

    path = Path(path)
    if not path.exists():
        raise InputFileError(path, "no such file")
    try:
        with safe_open(str(path), framework="pt") as handle:
            header = handle.metadata() or {}
    except Exception as err:  # safetensors raises its own error types for foreign files
        raise InputFileError(path, f"not a helixtune model file (not safetensors: {str(err).splitlines()[0]})") from None
    if METADATA_KEY not in header:
        raise InputFileError(path, "a safetensors file, but not a helixtune model (no helixtune_model metadata)")
    try:
        document = json.loads(header[METADATA_KEY])
    except json.JSONDecodeError as err:
        raise InputFileError(path, f"model metadata is not valid JSON ({err})") from None
    if document.get("format") != FORMAT_NAME:
        raise InputFileError(path, "model metadata has the wrong format name")
    if int(document.get("format_version", 0)) > FORMAT_VERSION:
        raise InputFileError(path, f"model format version {document.get('format_version')} is newer than this "
                                   f"helixtune understands ({FORMAT_VERSION})")
    return document


def load_model(path, device="cpu"):
    """Rebuild the model described in the file, load its weights; returns (model in eval mode, metadata)."""
    from safetensors.torch import load_file

    document = read_metadata(path)
    try:
        model = build_model(document["architecture"])
    except (KeyError, ValueError, TypeError) as err:
        raise InputFileError(path, f"model architecture in the metadata is not usable ({err})") from None
    tensors = load_file(str(path), device="cpu")
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise InputFileError(path, f"weights do not match the architecture (missing {missing[:3]}, "
                                   f"unexpected {unexpected[:3]})")
    for name, tensor in tensors.items():
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise InputFileError(path, f"weight {name} has shape {tuple(tensor.shape)}, "
                                       f"the architecture needs {tuple(expected[name].shape)}")
    model.load_state_dict(tensors, strict=True)
    if document["architecture"].get("kind") == "fine_tuned" and document.get("base_frozen", True):
        model.freeze_base()
    model.to(device)
    model.eval()
    return model, document
