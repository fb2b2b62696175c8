"""Building the network a run trains: from scratch, or from a pretrained model in one of the fine-tune modes.

Modes (`--fine-tune-mode`, registered in `FINE_TUNE_MODES` below; docs/fine-tuning.md):

- `whole`: the pretrained network, every weight trainable (upstream `--resume-training`);
- `head`: the pretrained network frozen, a new final Dense layer (upstream `--fine-tune`);
- `head+hidden`: frozen, a new hidden Dense layer and a new final layer;
- `coverage`: frozen, RNA-seq coverage tracks concatenated to the features before the new final layer(s)
  (upstream `--fine-tune --input-coverage [--post-coverage-hidden-layer]`).

Frozen means no gradients *and* inference behaviour: BatchNorm keeps its moving statistics (as Keras does
for a non-trainable BatchNormalization), dropout is off.

Where we deviate from upstream by default (`upstream_fine_tune=True` restores upstream's behaviour):
- coverage mode keeps every BiLSTM of the base model; upstream cuts at layer `dense_at - 2`, which drops the
  last BiLSTM of released models (no dropout2 layer) — and the only one of one-BiLSTM models;
- the hidden layer has a ReLU; upstream's is linear (so Dense∘Dense collapses to one linear map);
- `head+hidden` adds the hidden layer without coverage too; upstream ignores --post-coverage-hidden-layer
  without --input-coverage;
- the new final layer of `head` and `coverage` (without hidden layer) starts as a copy of the pretrained final
  layer (coverage weights 0), so tuning starts from the pretrained model's predictions; upstream starts it at
  random (`--head-init random`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from helixtune.errors import HelixtuneError

if TYPE_CHECKING:
    import torch

    from helixtune.model.network import FineTunedModel, HybridModel

# torch and the network are imported inside the functions: the command line reads the mode names
# (FINE_TUNE_MODES) without loading them


def load_pretrained(path, coverage_norm=...) -> tuple[torch.nn.Module, dict]:
    """A helixtune model file or an upstream Keras .h5 model -> (model, metadata).

    `coverage_norm` matters only for Keras coverage models, whose files do not record it.
    """
    from helixtune.model.loading import open_model

    loaded = open_model(path, coverage_norm=coverage_norm)
    metadata = dict(loaded.metadata)
    metadata["source_format"] = loaded.source_format
    return loaded.model, metadata


def freeze_(module: torch.nn.Module) -> torch.nn.Module:
    """No gradients and eval mode (BatchNorm moving statistics, no dropout) for every parameter of `module`."""
    module.requires_grad_(False)
    module.eval()
    return module


def unfreeze_(model: torch.nn.Module) -> torch.nn.Module:
    from helixtune.model.network import FineTunedModel

    model.requires_grad_(True)
    if isinstance(model, FineTunedModel):
        model.base_frozen = False
    model.train()
    return model


def init_head_from_pretrained_(model: FineTunedModel, weight: torch.Tensor, bias: torch.Tensor) -> str:
    """Start the new final layer as the pretrained one, so tuning starts from the pretrained predictions.

    Possible when the new layer reads the complete network's features directly (no hidden layer, every BiLSTM
    kept) and has the same outputs; coverage columns start at 0, so the tuned model initially predicts exactly
    what the base model does and the coverage weights grow from there. Returns 'pretrained' or 'random'.
    """
    import torch

    head = model.head
    width = weight.shape[1]
    usable = (model.hidden is None and model.excerpt_lstm_layers == model.base.config.lstm_layers
              and head.out_features == weight.shape[0] and head.in_features >= width)
    if not usable:
        return "random"
    with torch.no_grad():
        head.weight.zero_()
        head.weight[:, :width] = weight
        head.bias.copy_(bias)
    return "pretrained"


def trainable_parameter_names(model: torch.nn.Module) -> list[str]:
    return [name for name, p in model.named_parameters() if p.requires_grad]


def build_scratch_model(config, coverage_tracks: int = 0) -> torch.nn.Module:
    """A new HybridModel from the architecture flags (coverage tracks, when given, join at the head)."""
    from helixtune.model.network import HybridModel, HybridModelConfig

    net = HybridModelConfig(cnn_layers=config.cnn_layers, lstm_layers=config.lstm_layers, units=config.units,
                            filter_depth=config.filter_depth, kernel_size=config.kernel_size,
                            pool_size=config.pool_size, dropout1=config.dropout1, dropout2=config.dropout2,
                            predict_phase=config.predict_phase)
    base = HybridModel(net)
    if not coverage_tracks:
        return base
    hidden = _hidden_units(config, base) if config.post_coverage_hidden_layer else None
    return _fine_tuned(base, config, excerpt=None, coverage_tracks=coverage_tracks, hidden_units=hidden,
                       mode="scratch")


def _hidden_units(config, base: HybridModel) -> int:
    if config.hidden_units:
        return int(config.hidden_units)
    if config.upstream_fine_tune:
        return max(int(config.units) // 2, 1)  # upstream: the CLI's --units // 2 (default 32 -> 16)
    return max(base.config.units // 2, 1)


def _fine_tuned(base, config, excerpt, coverage_tracks, hidden_units, mode):
    from helixtune.model.network import FineTunedModel

    kwargs = dict(excerpt_lstm_layers=excerpt, coverage_tracks=coverage_tracks, coverage_norm=config.coverage_norm,
                  hidden_units=hidden_units, predict_phase=config.predict_phase, fine_tune_mode=mode)
    if hidden_units and not config.upstream_fine_tune:
        kwargs["hidden_activation"] = "relu"  # upstream's hidden layer is linear (see the module docstring)
    return FineTunedModel(base, **kwargs)


def _tune_whole(loaded, config, coverage_tracks: int, path: Path, info: dict):
    """Every weight of the pretrained network trainable."""
    model = unfreeze_(loaded)
    if getattr(model, "coverage_tracks", 0) != coverage_tracks:
        raise HelixtuneError(f"{path}: the model takes {getattr(model, 'coverage_tracks', 0)} coverage tracks, "
                             f"the training data gives {coverage_tracks} (check --input-coverage)")
    return model


def _tune_head(loaded, config, coverage_tracks: int, path: Path, info: dict):
    """The pretrained network frozen, a new final layer."""
    return _frozen_with_new_head(loaded, config, path, info, "head", hidden=False)


def _tune_head_hidden(loaded, config, coverage_tracks: int, path: Path, info: dict):
    """The pretrained network frozen, a new hidden layer and a new final layer."""
    return _frozen_with_new_head(loaded, config, path, info, "head+hidden", hidden=True)


def _tune_coverage(loaded, config, coverage_tracks: int, path: Path, info: dict):
    """The pretrained network frozen, coverage tracks joined to its features before the new layer(s)."""
    if not coverage_tracks:
        _check_plain_base(loaded, path, "coverage")
        raise HelixtuneError("coverage mode needs evaluation/rnaseq_coverage in the training data")
    return _frozen_with_new_head(loaded, config, path, info, "coverage", hidden=config.post_coverage_hidden_layer,
                                 coverage_tracks=coverage_tracks)


# The fine-tune modes: name -> function(pretrained model, config, coverage tracks, model path, info) -> model to
# train. `--fine-tune-mode` of `train` and `self-train` offers these names; a new mode is a function and an entry.
FINE_TUNE_MODES = {
    "whole": _tune_whole,
    "head": _tune_head,
    "head+hidden": _tune_head_hidden,
    "coverage": _tune_coverage,
}


def _check_plain_base(loaded, path: Path, mode: str) -> None:
    from helixtune.model.network import HybridModel

    if not isinstance(loaded, HybridModel):
        raise HelixtuneError(f"{path}: fine-tune mode {mode} starts from a plain network, but this model is "
                             f"already fine-tuned; use --fine-tune-mode whole or --fine-tune-resume")
    if loaded.config.input_channels != 4:
        raise HelixtuneError(f"{path}: fine-tuning needs a base model with the 4 DNA inputs only")


def _frozen_with_new_head(loaded, config, path: Path, info: dict, mode: str, hidden: bool, coverage_tracks: int = 0):
    """The pretrained network frozen under new final layer(s); (config.predict_phase False with a
    phase-predicting base: the new head has no phase, as asked)."""
    from helixtune.model.network import upstream_coverage_excerpt

    _check_plain_base(loaded, path, mode)
    hidden_units = _hidden_units(config, loaded) if hidden else None
    excerpt = None  # every BiLSTM
    if coverage_tracks and config.upstream_fine_tune:
        excerpt = upstream_coverage_excerpt(loaded.config)
    pretrained_head = (loaded.dense.weight.detach().clone(), loaded.dense.bias.detach().clone())
    model = _fine_tuned(loaded, config, excerpt, coverage_tracks, hidden_units, mode)
    model.freeze_base()
    if config.head_init == "pretrained" and not config.upstream_fine_tune:
        info["head_init"] = init_head_from_pretrained_(model, *pretrained_head)
    return model


def build_training_model(config, coverage_tracks: int = 0) -> tuple[torch.nn.Module, dict]:
    """The model to train for `config` and a description {mode, base_model, trainable, ...}."""
    from helixtune.model import model_file
    from helixtune.model.network import FineTunedModel

    mode = config.resolved_mode()
    info = {"mode": mode, "base_model": None}
    if mode == "scratch":
        model = build_scratch_model(config, coverage_tracks)
        info["trainable"] = trainable_parameter_names(model)
        return model, info

    loaded, metadata = load_pretrained(config.load_model_path,
                                       coverage_norm=config.coverage_norm if config.input_coverage else ...)
    path = Path(config.load_model_path)
    info["base_model"] = {"path": str(path), "file": path.name, "md5": model_file.file_md5(path),
                          "sha256": model_file.file_sha256(path)}
    info["base_metadata"] = metadata
    if config.fine_tune_resume:
        if not isinstance(loaded, FineTunedModel):
            raise HelixtuneError(f"{path}: --fine-tune-resume needs a fine-tuned model; this one has no new head")
        if loaded.coverage_tracks != coverage_tracks:
            raise HelixtuneError(f"{path}: the tuned model takes {loaded.coverage_tracks} coverage tracks, the "
                                 f"training data has {coverage_tracks}")
        model = loaded
        model.freeze_base()
        info["mode"] = f"{loaded.fine_tune_mode} (resumed)"
    else:
        model = FINE_TUNE_MODES[mode](loaded, config, coverage_tracks, path, info)
    info["trainable"] = trainable_parameter_names(model)
    return model, info
