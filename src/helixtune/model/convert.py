"""Keras `.h5` -> helixtune model file (the `convert-model` command's one call)."""

from __future__ import annotations

from helixtune.errors import InputFileError
from helixtune.model import keras_import
from helixtune.model.model_file import default_coverage_inputs, save_model
from helixtune.model.network import keras_parameter_count


def convert_keras_model(keras_path, output_path, pretrained_model_path=None, coverage_norm=...,
                        coverage_datasets=None) -> str:
    """Convert and write; returns a one-line summary."""
    if not keras_import.is_keras_model_file(keras_path):
        # gives the precise one-line reason (missing, not HDF5, not a Keras model)
        keras_import.read_keras_model(keras_path)
        raise InputFileError(keras_path, "not a Keras model file")
    model, info, base_info = keras_import.read_keras_model(keras_path, coverage_norm=coverage_norm,
                                                           pretrained_model_path=pretrained_model_path)
    metadata = keras_import.keras_metadata(info, base_info)
    coverage = default_coverage_inputs(model)
    if coverage is not None and coverage_datasets:
        coverage["datasets"] = list(coverage_datasets)
    metadata["coverage_inputs"] = coverage
    save_model(output_path, model, metadata)
    arch = model.architecture()
    heads = "genic + phase" if model.predict_phase else "genic only"
    extra = ""
    if arch["kind"] == "fine_tuned":
        ft = arch["fine_tune"]
        extra = (f", coverage fine-tune: {ft['coverage_tracks']} track(s), norm {ft['coverage_norm']}, "
                 f"{ft['excerpt_lstm_layers']} frozen BiLSTM(s), hidden {ft['hidden_units']}")
    return (f"converted {info.kind} model ({keras_parameter_count(model):,} parameters, {heads}, pool size "
            f"{model.pool_size}{extra}): {output_path}")
