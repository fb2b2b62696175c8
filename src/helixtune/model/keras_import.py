"""Read upstream Helixer's Keras `.h5` models with h5py (no TensorFlow) into our PyTorch modules.

Supported layouts (upstream's plain HybridModel and its fine-tuned variants; docs/models.md):
- HybridModel with genic + phase heads, or a single `main` head (no phase), any depth, with or without
  Dropout layers; older releases' `reshape_1/reshape_2` head names; `tf.split_1` of plain fine-tunes;
- coverage fine-tunes: 4 + 2n input channels, a nested Functional `model` (the frozen excerpt) whose weights
  live under `model_weights/model/...`, the coverage reshape, `tf.concat`, one Dense or a linear hidden Dense
  followed by the final Dense. Upstream does not record the coverage normalisation in the file, so the caller
  passes it (`coverage_norm`).

The layer graph is read from the root attribute `model_config`; the weights from each layer group's
`weight_names` attribute, in order (inner LSTM names differ between Keras versions and are never hard-coded).
`optimizer_weights` and `"trainable"` flags are ignored (upstream checkpoints set every layer untrainable).

Weight conversion (Keras to PyTorch): Conv1D kernel (K, in, out) -> (out, in, K); LSTM gate order i,f,g,o is shared,
weight_ih = kernel.T, weight_hh = recurrent_kernel.T, bias_ih = bias, bias_hh = 0; Dense kernel.T.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import torch

from helixtune.errors import InputFileError
from helixtune.model.network import (COVERAGE_NORMS, FineTunedModel, HybridModel, HybridModelConfig,
                                     upstream_coverage_excerpt)


@dataclass
class KerasModelInfo:
    """What was found in a Keras model file (for metadata and messages)."""

    path: str
    model_config: str
    keras_version: str
    kind: str  # "hybrid" | "coverage_fine_tuned"
    upstream_fine_tuned: bool  # the plain fine-tune head (tf.split_1) was seen
    layer_names: list = field(default_factory=list)


def is_keras_model_file(path) -> bool:
    try:
        with h5py.File(path, "r") as h5:
            return "model_config" in h5.attrs and "model_weights" in h5
    except OSError:
        return False


def _attr_str(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class _Reader:
    def __init__(self, path):
        self.path = Path(path)
        try:
            self.h5 = h5py.File(self.path, "r")
        except FileNotFoundError:
            raise InputFileError(path, "no such file") from None
        except OSError:
            raise InputFileError(path, "neither a helixtune model (safetensors) nor a Keras .h5 model "
                                       "(not an HDF5 file)") from None
        if "model_config" not in self.h5.attrs or "model_weights" not in self.h5:
            self.h5.close()
            raise InputFileError(path, "an HDF5 file, but not a Keras model (no model_config / model_weights); "
                                       "is it a data or predictions file?")
        try:
            self.config = json.loads(_attr_str(self.h5.attrs["model_config"]))
        except json.JSONDecodeError:
            raise InputFileError(path, "model_config attribute is not valid JSON") from None

    def fail(self, problem):
        raise InputFileError(self.path, f"not an upstream HybridModel: {problem}")

    def weights(self, group_path: str, layer_name: str, expected: int) -> list[np.ndarray]:
        """The arrays of one layer, in `weight_names` order (group_path: 'name' or 'model' for nested)."""
        weights_root = self.h5["model_weights"]
        if group_path not in weights_root:
            self.fail(f"no weights stored for layer '{layer_name}'")
        group = weights_root[group_path]
        names = [_attr_str(n) for n in group.attrs.get("weight_names", [])]
        if group_path != layer_name:  # nested model: keep this layer's weights only
            names = [n for n in names if n.split("/")[0] == layer_name]
        if len(names) != expected:
            self.fail(f"layer '{layer_name}' has {len(names)} weight arrays, expected {expected}")
        return [np.asarray(group[n], dtype=np.float32) for n in names]


def _layers(config: dict) -> list[dict]:
    return config.get("config", {}).get("layers", [])


def _parse_body(reader: _Reader, layers: list[dict]):
    """Parse conv/BN/reshape/dropout/BiLSTM layers in order -> (HybridModelConfig fields, ordered weight jobs)."""
    convs, norms, lstms, dropouts_before_lstm, dropouts_after_lstm = [], [], [], [], []
    reshape_width = None
    input_channels = None
    for layer in layers:
        cls, cfg, name = layer["class_name"], layer["config"], layer.get("name", layer["config"].get("name"))
        if cls == "InputLayer":
            shape = cfg.get("batch_input_shape") or cfg.get("batch_shape")
            input_channels = int(shape[-1])
        elif cls == "Conv1D":
            if norms and len(norms) != len(convs):
                reader.fail("BatchNormalization layers are not between the convolutions")
            if cfg.get("activation") != "relu" or cfg.get("padding") != "same" or tuple(cfg.get("strides", [1])) != (1,) \
                    or tuple(cfg.get("dilation_rate", [1])) != (1,):
                reader.fail(f"Conv1D '{name}' is not relu/same/stride 1")
            convs.append((name, int(cfg["filters"]), int(cfg["kernel_size"][0])))
        elif cls == "BatchNormalization":
            norms.append(name)
        elif cls == "Reshape" and not lstms and reshape_width is None and len(cfg["target_shape"]) == 2:
            reshape_width = int(cfg["target_shape"][-1])
        elif cls == "Dropout":
            (dropouts_after_lstm if lstms else dropouts_before_lstm).append(float(cfg["rate"]))
        elif cls == "Bidirectional":
            inner = cfg["layer"]["config"]
            if inner.get("activation") != "tanh" or inner.get("recurrent_activation") != "sigmoid" \
                    or not inner.get("return_sequences", False) or cfg.get("merge_mode", "concat") != "concat":
                reader.fail(f"Bidirectional '{name}' is not a tanh/sigmoid LSTM with concat merge")
            if cfg["layer"].get("class_name") != "LSTM":
                reader.fail(f"Bidirectional '{name}' wraps a {cfg['layer'].get('class_name')}, not an LSTM")
            lstms.append((name, int(inner["units"])))
        else:
            break
    if not convs:
        reader.fail("no Conv1D layer")
    filters = {f for _, f, _ in convs}
    kernels = {k for _, _, k in convs}
    units = {u for _, u in lstms}
    if len(filters) != 1 or len(kernels) != 1 or len(units) > 1:
        reader.fail("convolutions or LSTMs of different sizes")
    if len(norms) != len(convs) - 1:
        reader.fail(f"{len(norms)} BatchNormalization layers for {len(convs)} convolutions")
    filter_depth = filters.pop()
    if reshape_width is None or reshape_width % filter_depth:
        reader.fail("no Reshape(-1, pool_size * filters) after the convolutions")
    fields = dict(cnn_layers=len(convs), lstm_layers=len(lstms), units=units.pop() if units else 32,
                  filter_depth=filter_depth, kernel_size=kernels.pop(), pool_size=reshape_width // filter_depth,
                  dropout1=dropouts_before_lstm[0] if dropouts_before_lstm else 0.0,
                  dropout2=dropouts_after_lstm[0] if dropouts_after_lstm else 0.0,
                  input_channels=input_channels or 4)
    return fields, convs, norms, lstms


def _load_body(reader: _Reader, model: HybridModel, convs, norms, lstms, group_of) -> None:
    """Copy conv/BN/LSTM weights into `model`; group_of(layer_name) -> group path under model_weights."""
    with torch.no_grad():
        for module, (name, _, _) in zip(model.convs, convs):
            kernel, bias = reader.weights(group_of(name), name, 2)
            _copy(reader, module.weight, np.transpose(kernel, (2, 1, 0)), name)
            _copy(reader, module.bias, bias, name)
        for module, name in zip(model.norms, norms):
            gamma, beta, mean, var = reader.weights(group_of(name), name, 4)
            _copy(reader, module.weight, gamma, name)
            _copy(reader, module.bias, beta, name)
            _copy(reader, module.running_mean, mean, name)
            _copy(reader, module.running_var, var, name)
        for module, (name, _) in zip(model.lstms, lstms):
            arrays = reader.weights(group_of(name), name, 6)
            for suffix, (kernel, recurrent, bias) in (("", arrays[:3]), ("_reverse", arrays[3:])):
                _copy(reader, getattr(module, f"weight_ih_l0{suffix}"), kernel.T, name)
                _copy(reader, getattr(module, f"weight_hh_l0{suffix}"), recurrent.T, name)
                _copy(reader, getattr(module, f"bias_ih_l0{suffix}"), bias, name)
                getattr(module, f"bias_hh_l0{suffix}").zero_()


def _copy(reader, target: torch.Tensor, array: np.ndarray, name: str) -> None:
    if tuple(target.shape) != tuple(array.shape):
        reader.fail(f"weight of layer '{name}' has shape {array.shape}, expected {tuple(target.shape)}")
    target.copy_(torch.from_numpy(np.ascontiguousarray(array)))


def _head(reader: _Reader, layers: list[dict]):
    """Dense layers, split and softmax heads after the body: (dense names, predict_phase, pool size)."""
    dense = [l for l in layers if l["class_name"] == "Dense"]
    outputs = [o[0] for o in reader.config["config"].get("output_layers", [])]
    predict_phase = len(outputs) == 2
    if len(outputs) not in (1, 2):
        reader.fail(f"{len(outputs)} outputs (expected genic [+ phase])")
    for layer in layers:
        if layer["class_name"] == "Activation" and layer["config"].get("activation") != "softmax":
            reader.fail(f"output activation '{layer['config'].get('activation')}' is not softmax")
    if not dense:
        reader.fail("no Dense output layer")
    units = int(dense[-1]["config"]["units"])
    per_base = 8 if predict_phase else 4
    if units % per_base:
        reader.fail(f"final Dense has {units} units, not a multiple of {per_base}")
    for layer in dense:
        if layer["config"].get("activation", "linear") != "linear":
            reader.fail(f"Dense '{layer['name']}' is not linear")
    return [l["config"]["name"] for l in dense], predict_phase, units // per_base


def _load_dense(reader, linear: torch.nn.Linear, name: str) -> None:
    kernel, bias = reader.weights(name, name, 2)
    with torch.no_grad():
        _copy(reader, linear.weight, kernel.T, name)
        _copy(reader, linear.bias, bias, name)


def read_keras_model(path, coverage_norm: str | None | object = ..., pretrained_model_path=None):
    """Build our module from a Keras `.h5` HybridModel -> (model in eval mode, KerasModelInfo, base info|None).

    coverage_norm: required for coverage fine-tunes ("log", "linear" or None for raw counts); `...` = not given.
    pretrained_model_path: upstream's `--pretrained-model-path` for coverage models; optional here (the tuned
    file holds every weight) but, when given, checked against the excerpt and recorded as the base.
    """
    reader = _Reader(path)
    try:
        layers = _layers(reader.config)
        if reader.config.get("class_name") not in ("Functional", "Model", "Sequential"):
            reader.fail(f"model class {reader.config.get('class_name')}")
        names = [l["config"]["name"] for l in layers]
        info = KerasModelInfo(path=str(path), model_config=_attr_str(reader.h5.attrs["model_config"]),
                              keras_version=_attr_str(reader.h5.attrs.get("keras_version", "")),
                              kind="hybrid", upstream_fine_tuned="tf.split_1" in names, layer_names=names)
        nested = [l for l in layers if l["class_name"] in ("Functional", "Model")]
        dense_names, predict_phase, pool_from_head = _head(reader, layers)
        if not nested:
            fields, convs, norms, lstms = _parse_body(reader, layers)
            if fields["input_channels"] != 4:
                reader.fail(f"input has {fields['input_channels']} channels; only coverage fine-tunes (nested "
                            f"'model' layer) may have more than 4")
            if len(dense_names) != 1:
                reader.fail(f"{len(dense_names)} Dense layers without coverage input")
            if fields["pool_size"] != pool_from_head:
                reader.fail(f"pool size {fields['pool_size']} of the reshape differs from the head's {pool_from_head}")
            model = HybridModel(HybridModelConfig(**fields, predict_phase=predict_phase))
            _load_body(reader, model, convs, norms, lstms, group_of=lambda n: n)
            _load_dense(reader, model.dense, dense_names[0])
            return model.eval(), info, None
        return _read_coverage_model(reader, layers, nested[0], dense_names, predict_phase, pool_from_head,
                                    info, coverage_norm, pretrained_model_path)
    except (KeyError, IndexError, TypeError, ValueError) as err:
        if isinstance(err, InputFileError):
            raise
        raise InputFileError(path, f"not an upstream HybridModel: unexpected model_config ({err!r})") from None
    finally:
        reader.h5.close()


def _read_coverage_model(reader, layers, nested, dense_names, predict_phase, pool_size, info, coverage_norm,
                         pretrained_model_path):
    info.kind = "coverage_fine_tuned"
    input_shape = layers[0]["config"].get("batch_input_shape")
    channels = int(input_shape[-1])
    if channels <= 4 or (channels - 4) % 2:
        reader.fail(f"coverage model input has {channels} channels (expected 4 + 2 x tracks)")
    tracks = (channels - 4) // 2
    if coverage_norm is ...:
        raise InputFileError(reader.path, "is an upstream coverage model; upstream does not store its coverage "
                                          "normalisation: give --coverage-norm log|linear|none as used in training")
    if coverage_norm not in COVERAGE_NORMS:
        raise InputFileError(reader.path, f"unknown coverage normalisation {coverage_norm!r}")
    fields, convs, norms, lstms = _parse_body(reader, nested["config"]["layers"])
    fields["input_channels"] = 4
    if fields["pool_size"] != pool_size:
        reader.fail(f"pool size {fields['pool_size']} of the excerpt differs from the head's {pool_size}")
    cov_reshape = [l for l in layers if l["class_name"] == "Reshape" and len(l["config"]["target_shape"]) == 2]
    if not cov_reshape or int(cov_reshape[0]["config"]["target_shape"][-1]) != pool_size * 2 * tracks:
        reader.fail("no coverage Reshape(-1, pool_size * 2 * tracks)")
    if len(dense_names) not in (1, 2):
        reader.fail(f"{len(dense_names)} Dense layers after the coverage concat (expected 1 or 2)")
    excerpt_lstms = fields["lstm_layers"]
    base_info = None
    base_config = HybridModelConfig(**fields, predict_phase=True)
    if pretrained_model_path is not None:
        base_model, base_keras, _ = read_keras_model(pretrained_model_path)
        if not isinstance(base_model, HybridModel):
            raise InputFileError(pretrained_model_path, "the pretrained model must be a sequence-only HybridModel")
        base_config = base_model.config
        for key in ("cnn_layers", "filter_depth", "kernel_size", "pool_size", "units"):
            if excerpt_lstms == 0 and key == "units":
                continue
            if getattr(base_config, key) != fields[key]:
                raise InputFileError(pretrained_model_path, f"does not match the tuned model's frozen part "
                                                            f"({key} {getattr(base_config, key)} vs {fields[key]})")
        if upstream_coverage_excerpt(base_config) != excerpt_lstms:
            raise InputFileError(pretrained_model_path, f"upstream would keep {upstream_coverage_excerpt(base_config)} "
                                                        f"BiLSTM layers of it, the tuned model has {excerpt_lstms}")
        from helixtune.model.model_file import file_md5, file_sha256
        base_info = {"path": str(pretrained_model_path), "name": Path(pretrained_model_path).name,
                     "md5": file_md5(pretrained_model_path), "sha256": file_sha256(pretrained_model_path),
                     "network": base_config.to_dict()}
        del base_keras
    hidden_units = None
    if len(dense_names) == 2:  # --post-coverage-hidden-layer: linear Dense(units // 2) then the final Dense
        hidden_units = int(next(l for l in layers if l["config"]["name"] == dense_names[0])["config"]["units"])
    model = FineTunedModel(HybridModel(base_config), excerpt_lstm_layers=excerpt_lstms, coverage_tracks=tracks,
                           coverage_norm=coverage_norm, hidden_units=hidden_units, predict_phase=predict_phase,
                           fine_tune_mode="fine_tune_coverage")
    nested_name = nested["config"].get("name", nested.get("name"))
    _load_body(reader, model.base, convs, norms, lstms, group_of=lambda n: nested_name)
    if model.hidden is not None:
        _load_dense(reader, model.hidden, dense_names[0])
    _load_dense(reader, model.head, dense_names[-1])
    model.freeze_base()
    return model.eval(), info, base_info


def keras_metadata(info: KerasModelInfo, base_info: dict | None) -> dict:
    """Metadata entries for `save_model` describing a converted Keras model."""
    from helixtune.model.model_file import file_md5, file_sha256

    return {"keras_model_config": info.model_config,
            "base_model": base_info,
            "provenance": {"converted_from": Path(info.path).name, "converted_from_md5": file_md5(info.path),
                           "converted_from_sha256": file_sha256(info.path), "keras_version": info.keras_version,
                           "upstream_layout": info.kind, "upstream_fine_tuned": info.upstream_fine_tuned}}
