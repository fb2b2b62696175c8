"""The HybridModel network (upstream Helixer's CNN + BiLSTM) and the fine-tune structures, in PyTorch.

Public API (what training, prediction and model files build on)
----------------------------------------------------------------
`HybridModelConfig`   every hyper-parameter upstream's HybridModel.py exposes, as a dataclass;
                      `.to_dict()` / `HybridModelConfig.from_dict(d)` for model files.
`HybridModel(config)` the network trained from scratch or loaded from a released model.
`FineTunedModel(base, ...)` a (frozen) excerpt of a HybridModel plus coverage tracks and one new final
                      Dense layer, or a hidden + final layer (docs/fine-tuning.md).

Both modules share one interface, so training and prediction never need to know which one they hold:

    model(x)            -> (genic, phase)   softmax probabilities, each (B, T, P, 4); phase is None when
                                            the model has no phase head.  x: (B, L, C) with L % P == 0,
                                            C = 4 (+ 2n coverage tracks); any float dtype (float16 from h5 is
                                            fine), coverage columns as raw read counts.
    model.logits(x)     -> (genic_logits, phase_logits)  same shapes, before the softmax (use these with
                                            cross-entropy in the loss; softmax is over the last axis).
    model.pool_size, model.predict_phase, model.input_channels, model.coverage_tracks
    model.architecture() -> dict            JSON-able description; `build_model(architecture)` rebuilds it.

Row-major conventions follow Keras exactly: timestep t holds bases tP .. tP+P-1, the Dense output
is split into the genic half then the phase half, and probabilities reshape to base-wise with
`probs.reshape(B, T * P, 4)`.

Fine-tuning (docs/fine-tuning.md):
    base = HybridModel(cfg)                               # or loaded from a file
    tuned = FineTunedModel(base, excerpt_lstm_layers=None,  # None: all BiLSTMs (upstream --fine-tune)
                           coverage_tracks=0, coverage_norm=None, hidden_units=None,
                           predict_phase=True)
    # hidden_activation=None: linear hidden layer as upstream; "relu" for helixtune's own head+hidden tunes
    tuned.freeze_base()        # requires_grad False on the base and keeps it in eval mode (BN moving stats,
                               # no dropout) even when tuned.train() is called
    upstream_coverage_excerpt(base.config)  -> the number of BiLSTMs upstream keeps for a coverage fine-tune
                               (its `dense_at - 2` cut: drops the last BiLSTM of models without dropout2)

Inference helper: `HybridModel.use_bfloat16_convolutions()` runs the convolutions in bfloat16 and the rest in
float32 (what `helixtune predict --precision auto` does on CPUs with bfloat16 units).

Coverage inputs: the model receives raw counts (−1 in padding) in columns 4 .. 4+2n ([coverage_1..n,
spliced_1..n]) and normalises them itself (`coverage_norm` "log": ln(x + 1.1), "linear": x / 100, None: as is),
rounding to float16 like upstream's data pipeline, so a model file fully describes what it expects.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

N_CLASSES = 4  # intergenic, UTR, CDS, intron  /  no phase, phase 0, 1, 2
COVERAGE_NORMS = (None, "log", "linear")


@dataclass
class HybridModelConfig:
    """HybridModel.py's architecture flags with upstream's defaults."""

    cnn_layers: int = 1
    lstm_layers: int = 1
    units: int = 32  # LSTM units per direction
    filter_depth: int = 32
    kernel_size: int = 26
    pool_size: int = 9  # bases per LSTM timestep
    dropout1: float = 0.0  # after the conv block (after the reshape)
    dropout2: float = 0.0  # after the LSTM stack
    predict_phase: bool = True
    input_channels: int = 4

    def __post_init__(self):
        for name in ("cnn_layers", "units", "filter_depth", "kernel_size", "pool_size", "input_channels"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.lstm_layers < 0:
            raise ValueError(f"lstm_layers must be >= 0, got {self.lstm_layers}")
        for name in ("dropout1", "dropout2"):
            if not 0.0 <= float(getattr(self, name)) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "HybridModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown HybridModel hyper-parameters: {sorted(unknown)}")
        return cls(**values)

    @classmethod
    def released_size(cls, kernel_size: int = 10) -> "HybridModelConfig":
        """The full-size recipe of upstream's released models (docs/training.md)."""
        return cls(cnn_layers=4, lstm_layers=3, units=128, filter_depth=96, kernel_size=kernel_size,
                   pool_size=9, predict_phase=True)


def _split_heads(dense_out: torch.Tensor, pool_size: int, predict_phase: bool):
    """Dense output (B, T, 8P or 4P) -> (genic, phase|None) logits, each (B, T, P, 4) (Keras tf.split)."""
    batch, steps = dense_out.shape[0], dense_out.shape[1]
    if predict_phase:
        genic, phase = dense_out.chunk(2, dim=-1)
        return (genic.reshape(batch, steps, pool_size, N_CLASSES),
                phase.reshape(batch, steps, pool_size, N_CLASSES))
    return dense_out.reshape(batch, steps, pool_size, N_CLASSES), None


def _class_softmax(dense_out: torch.Tensor) -> torch.Tensor:
    """Softmax over each consecutive group of N_CLASSES outputs of the Dense layer (what the heads' softmax
    computes, before the split). Written out because torch's softmax over a last axis of 4 is about five
    times slower; without autograd it works in place."""
    groups = dense_out.unflatten(-1, (-1, N_CLASSES))
    shifted = groups - groups.amax(dim=-1, keepdim=True)
    if torch.is_grad_enabled():
        exp = shifted.exp()
        return (exp / exp.sum(dim=-1, keepdim=True)).flatten(-2)
    exp = shifted.exp_()
    return exp.div_(exp.sum(dim=-1, keepdim=True)).flatten(-2)


def keras_init_linear_(layer: nn.Module) -> None:
    """Keras defaults: glorot_uniform kernel, zero bias."""
    nn.init.xavier_uniform_(layer.weight)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)


def keras_init_lstm_(lstm: nn.LSTM) -> None:
    """Keras LSTM defaults: glorot_uniform kernel, orthogonal recurrent kernel, bias 0 with forget bias 1."""
    units = lstm.hidden_size
    for name, param in lstm.named_parameters():
        if name.startswith("weight_ih"):
            # Keras initialises the whole (in, 4U) kernel at once
            nn.init.xavier_uniform_(param)
        elif name.startswith("weight_hh"):
            nn.init.orthogonal_(param)
        elif name.startswith("bias_ih"):
            nn.init.zeros_(param)
            with torch.no_grad():
                param[units:2 * units] = 1.0  # gate order i, f, g, o: forget gate
        elif name.startswith("bias_hh"):
            nn.init.zeros_(param)  # Keras has a single bias; keep the second one at 0


class HybridModel(nn.Module):
    """Conv1D stack (BatchNorm between convolutions) -> reshape by pool size -> BiLSTMs -> Dense -> heads.

    Parameter names (stable; model files and freezing helpers rely on them):
    `convs.{i}` Conv1d, `norms.{i}` BatchNorm1d (between conv i and i+1), `lstms.{i}` single-layer
    bidirectional LSTM, `dense` the output Linear (8P outputs with phase head, else 4P).
    """

    def __init__(self, config: HybridModelConfig | None = None, **overrides):
        super().__init__()
        if config is None:
            config = HybridModelConfig(**overrides)
        elif overrides:
            config = HybridModelConfig(**{**config.to_dict(), **overrides})
        self.config = config
        c = config
        self.convs = nn.ModuleList(
            nn.Conv1d(c.input_channels if i == 0 else c.filter_depth, c.filter_depth, c.kernel_size)
            for i in range(c.cnn_layers))
        # TF/Keras "same" padding (also for even kernels): (K-1)//2 on the left, the rest on the right
        left = (c.kernel_size - 1) // 2
        self.conv_padding = (left, c.kernel_size - 1 - left)
        # Keras BatchNormalization(momentum 0.99, epsilon 1e-3) == torch momentum 0.01
        self.norms = nn.ModuleList(nn.BatchNorm1d(c.filter_depth, eps=1e-3, momentum=0.01)
                                   for _ in range(c.cnn_layers - 1))
        self.dropout1 = nn.Dropout(c.dropout1) if c.dropout1 > 0 else nn.Identity()
        lstm_inputs = [c.pool_size * c.filter_depth] + [2 * c.units] * max(c.lstm_layers - 1, 0)
        # time-first LSTMs: torch's CPU kernel is faster on (T, B, F) than on (B, T, F) (same weights, same results)
        self.lstms = nn.ModuleList(nn.LSTM(n_in, c.units, batch_first=False, bidirectional=True)
                                   for n_in in lstm_inputs[:c.lstm_layers])
        self.dropout2 = nn.Dropout(c.dropout2) if c.dropout2 > 0 else nn.Identity()
        self.dense = nn.Linear(self.feature_size(), c.pool_size * N_CLASSES * (2 if c.predict_phase else 1))
        self.after_conv_dtype = None  # set by use_bfloat16_convolutions
        self.inference_lstms = None  # set by use_bfloat16_lstms (plain list: not parameters, not in state_dict)
        self.reset_parameters()

    # -- shared interface ------------------------------------------------------------------------------
    @property
    def pool_size(self) -> int:
        return self.config.pool_size

    @property
    def predict_phase(self) -> bool:
        return self.config.predict_phase

    @property
    def input_channels(self) -> int:
        return self.config.input_channels

    @property
    def coverage_tracks(self) -> int:
        return 0

    def architecture(self) -> dict:
        return {"kind": "hybrid", "network": self.config.to_dict()}

    # -- construction helpers --------------------------------------------------------------------------
    def reset_parameters(self) -> None:
        """Keras's default initialisers, so training from scratch starts like upstream."""
        for conv in self.convs:
            keras_init_linear_(conv)
        for norm in self.norms:
            norm.reset_parameters()
        for lstm in self.lstms:
            keras_init_lstm_(lstm)
        keras_init_linear_(self.dense)

    def feature_size(self, lstm_layers: int | None = None) -> int:
        """Width of `features(x, lstm_layers)` per timestep."""
        n = self.config.lstm_layers if lstm_layers is None else lstm_layers
        return 2 * self.config.units if n > 0 else self.config.pool_size * self.config.filter_depth

    def use_bfloat16_convolutions(self) -> "HybridModel":
        """Inference speed-up on CPUs with bfloat16 units: convolutions (+ BatchNorm) in bfloat16, everything
        after them (BiLSTMs, Dense, softmax) in float32; inference only (eval mode, no autograd). Measured on
        upstream models: about 1.4e-4 change of the probabilities when BiLSTMs follow the convolutions
        (bfloat16 in the BiLSTMs as well, as plain autocast does, changes them by ~2e-3)."""
        self.after_conv_dtype = self.convs[0].weight.dtype
        self.convs.to(torch.bfloat16)  # BatchNorm parameters stay float32 (see _convolutions_channels_last)
        return self

    def use_bfloat16_lstms(self) -> bool:
        """Inference speed-up on CPUs with AVX512-BF16: each BiLSTM runs its matrix products in bfloat16 with
        float32 sums, and its gates and states in float32 (`bf16_lstm.BFloat16BiLSTM`); about 2e-4 change of
        the probabilities together with bfloat16 convolutions. Returns False (and changes nothing) where the
        kernel is not available or a BiLSTM's size does not fit it. Inference only: training and autograd
        keep the nn.LSTMs."""
        from helixtune.model import bf16_lstm

        if not self.lstms or not bf16_lstm.kernel_available():
            return False
        if not all(bf16_lstm.BFloat16BiLSTM.supports(lstm) for lstm in self.lstms):
            return False
        self.inference_lstms = [bf16_lstm.BFloat16BiLSTM(lstm) for lstm in self.lstms]
        return True

    def _convolutions_channels_last(self, x: torch.Tensor) -> torch.Tensor:
        """Inference path (eval mode without autograd, and the bfloat16 mode): the same convolutions as 2-D
        ones on a channels-last (B, C, 1, L) tensor, which oneDNN runs without layout conversions (about 1.2x
        faster in float32, 1.3x in bfloat16), with ReLU and the eval-mode BatchNorm applied in place.

        The input is zero-padded once, by every layer's "same" padding at once; each convolution then runs
        unpadded and the columns outside the sequence are zeroed after each BatchNorm, which gives the next
        layer exactly the zero padding it expects without copying the large activations for padding."""
        left, right = self.conv_padding
        margin_left, margin_right = left * len(self.convs), right * len(self.convs)
        h = nn.functional.pad(x.to(self.convs[0].weight.dtype), (0, 0, margin_left, margin_right))
        h = h.transpose(1, 2).unsqueeze(2)  # (B, L, C) contiguous is (B, C, 1, L) channels-last: no copy
        for i, conv in enumerate(self.convs):
            h = torch.relu_(nn.functional.conv2d(h, conv.weight.unsqueeze(2), conv.bias))  # in place: large tensors
            margin_left, margin_right = margin_left - left, margin_right - right
            if i < len(self.norms):
                norm = self.norms[i]  # eval-mode BatchNorm as an in-place affine map
                scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)  # float32
                shift = norm.bias - norm.running_mean * scale
                torch.addcmul(shift.to(h.dtype).view(1, -1, 1, 1), h, scale.to(h.dtype).view(1, -1, 1, 1), out=h)
                h[..., :margin_left] = 0
                h[..., h.shape[-1] - margin_right:] = 0
        return h.squeeze(2)

    # -- forward -------------------------------------------------------------------------------------
    def features(self, x: torch.Tensor, lstm_layers: int | None = None) -> torch.Tensor:
        """(B, L, C) -> per-timestep features (B, T, D) after the first `lstm_layers` BiLSTMs (default all).

        dropout2 is applied only when the whole LSTM stack is used (it sits after the stack upstream).
        """
        c = self.config
        n_lstm = c.lstm_layers if lstm_layers is None else lstm_layers
        if not 0 <= n_lstm <= len(self.lstms):
            raise ValueError(f"lstm_layers must be in [0, {len(self.lstms)}], got {n_lstm}")
        batch, length = x.shape[0], x.shape[1]
        if length % c.pool_size:
            raise ValueError(f"sequence length {length} is not divisible by the pool size {c.pool_size}")
        inference = not (self.training or torch.is_grad_enabled())
        if self.after_conv_dtype is not None or inference:
            h = self._convolutions_channels_last(x)  # inference only: in-place ops, BN moving statistics
        else:
            h = x.to(self.convs[0].weight.dtype).transpose(1, 2)  # channels-first for Conv1d
            for i, conv in enumerate(self.convs):
                h = torch.relu(conv(nn.functional.pad(h, self.conv_padding)))
                if i < len(self.norms):
                    h = self.norms[i](h)
        # Keras Reshape(-1, P*F) on channels-last: base offset major, filter minor
        h = h.transpose(1, 2).reshape(batch, length // c.pool_size, c.pool_size * c.filter_depth)
        fast_lstms = self.inference_lstms is not None and inference
        if self.after_conv_dtype is not None and not (fast_lstms and n_lstm):
            h = h.to(self.after_conv_dtype)  # reduced-precision convolutions; the rest stays float32
        h = self.dropout1(h)
        if n_lstm and fast_lstms:  # batch-first bfloat16 kernels take the convolutions' bfloat16 output as is
            for lstm in self.inference_lstms[:n_lstm]:
                h = lstm(h)
        elif n_lstm:
            h = h.transpose(0, 1)  # (T, B, F) for the time-first LSTMs
            for lstm in self.lstms[:n_lstm]:
                h, _ = lstm(h)
            h = h.transpose(0, 1).contiguous()
        if n_lstm == c.lstm_layers:
            h = self.dropout2(h)
        return h

    def logits(self, x: torch.Tensor):
        return _split_heads(self.dense(self.features(x)), self.pool_size, self.predict_phase)

    def forward(self, x: torch.Tensor):
        return _split_heads(_class_softmax(self.dense(self.features(x))), self.pool_size, self.predict_phase)


def upstream_coverage_excerpt(config: HybridModelConfig) -> int:
    """BiLSTM layers upstream keeps when it cuts a base model at layer `dense_at - 2` (docs/fine-tuning.md).

    Without dropout2 the layer before `dense` is the last BiLSTM, so `dense_at - 2` drops it.
    """
    if config.dropout2 > 0:
        return config.lstm_layers
    return max(config.lstm_layers - 1, 0)


def normalize_coverage(raw: torch.Tensor, norm: str | None) -> torch.Tensor:
    """Upstream's coverage normalisation (docs/coverage.md), rounded to float16 as upstream's pipeline stores it."""
    raw = raw.float()
    if norm == "log":
        out = torch.log(raw + 1.1)
    elif norm == "linear":
        out = raw / 100.0
    elif norm is None:
        out = raw
    else:
        raise ValueError(f"unknown coverage normalisation {norm!r} (use one of {COVERAGE_NORMS})")
    return out.half().float()


class FineTunedModel(nn.Module):
    """A HybridModel excerpt + optional coverage tracks + new head (docs/fine-tuning.md).

    x (B, L, 4 + 2n) -> base.features(x[..., :4], excerpt_lstm_layers)      (B, T, D)
                       coverage x[..., 4:] normalised, reshaped (B, T, P*2n) (base offset major)
                       concat -> [hidden Linear (linear activation)] -> Linear(8P | 4P) -> heads
    Parameter names: `base.*` (the HybridModel excerpt: BiLSTMs after the excerpt and the base's own `dense`
    are removed from `base`, which the tuned model takes ownership of), `hidden` (optional), `head` (the new
    final layer).
    """

    def __init__(self, base: HybridModel, excerpt_lstm_layers: int | None = None, coverage_tracks: int = 0,
                 coverage_norm: str | None = None, hidden_units: int | None = None,
                 predict_phase: bool = True, fine_tune_mode: str = "fine_tune",
                 hidden_activation: str | None = None):
        super().__init__()
        if base.config.input_channels != 4:
            raise ValueError("the base model of a fine-tune must take the 4 DNA channels only")
        if coverage_norm not in COVERAGE_NORMS:
            raise ValueError(f"unknown coverage normalisation {coverage_norm!r} (use one of {COVERAGE_NORMS})")
        if coverage_tracks < 0:
            raise ValueError("coverage_tracks must be >= 0")
        self.base = base
        self.excerpt_lstm_layers = base.config.lstm_layers if excerpt_lstm_layers is None else int(excerpt_lstm_layers)
        if not 0 <= self.excerpt_lstm_layers <= len(base.lstms):
            raise ValueError(f"excerpt_lstm_layers must be in [0, {len(base.lstms)}]")
        # the tuned model owns the excerpt only: drop the base layers it never runs (their weights are not
        # part of upstream's tuned files either); base.config still records the base architecture
        del base.lstms[self.excerpt_lstm_layers:]
        base.dense = None
        self.n_coverage_tracks = int(coverage_tracks)
        self.coverage_norm = coverage_norm
        self.hidden_units = int(hidden_units) if hidden_units else None
        # None: linear, as upstream's --post-coverage-hidden-layer; "relu": helixtune's default for new tunes
        if hidden_activation not in (None, "relu"):
            raise ValueError(f"unknown hidden activation {hidden_activation!r} (use None or 'relu')")
        self.hidden_activation = hidden_activation
        self._predict_phase = bool(predict_phase)
        self.fine_tune_mode = fine_tune_mode
        self.base_frozen = False
        width = base.feature_size(self.excerpt_lstm_layers) + 2 * self.n_coverage_tracks * base.pool_size
        self.hidden = nn.Linear(width, self.hidden_units) if self.hidden_units else None
        self.head = nn.Linear(self.hidden_units or width,
                              base.pool_size * N_CLASSES * (2 if self._predict_phase else 1))
        if self.hidden is not None:
            keras_init_linear_(self.hidden)
        keras_init_linear_(self.head)

    @property
    def pool_size(self) -> int:
        return self.base.pool_size

    @property
    def predict_phase(self) -> bool:
        return self._predict_phase

    @property
    def coverage_tracks(self) -> int:
        return self.n_coverage_tracks

    @property
    def input_channels(self) -> int:
        return 4 + 2 * self.n_coverage_tracks

    def architecture(self) -> dict:
        return {"kind": "fine_tuned", "network": self.base.config.to_dict(),
                "fine_tune": {"mode": self.fine_tune_mode, "excerpt_lstm_layers": self.excerpt_lstm_layers,
                              "coverage_tracks": self.n_coverage_tracks, "coverage_norm": self.coverage_norm,
                              "hidden_units": self.hidden_units, "predict_phase": self._predict_phase,
                              "hidden_activation": self.hidden_activation}}

    def freeze_base(self) -> "FineTunedModel":
        """Freeze the base: no gradients, and inference behaviour (BN moving stats, no dropout) always."""
        self.base.requires_grad_(False)
        self.base_frozen = True
        self.base.eval()
        return self

    def train(self, mode: bool = True):
        super().train(mode)
        if self.base_frozen:
            self.base.eval()
        return self

    def head_input(self, x: torch.Tensor) -> torch.Tensor:
        """The concatenated per-timestep features the new layers see."""
        feats = self.base.features(x[..., :4], self.excerpt_lstm_layers)
        if self.n_coverage_tracks:
            if x.shape[-1] != self.input_channels:
                raise ValueError(f"expected {self.input_channels} input channels, got {x.shape[-1]}")
            cov = normalize_coverage(x[..., 4:], self.coverage_norm).to(feats.dtype)
            batch, length = cov.shape[0], cov.shape[1]
            cov = cov.reshape(batch, length // self.pool_size, self.pool_size * 2 * self.n_coverage_tracks)
            feats = torch.cat([feats, cov], dim=-1)
        return feats

    def head_output(self, x: torch.Tensor) -> torch.Tensor:
        """The final Dense layer's output (B, T, 8P or 4P), before the split into heads."""
        h = self.head_input(x)
        if self.hidden is not None:
            h = self.hidden(h)  # linear, as upstream's --post-coverage-hidden-layer
            if self.hidden_activation == "relu":
                h = torch.relu(h)
        return self.head(h)

    def logits(self, x: torch.Tensor):
        return _split_heads(self.head_output(x), self.pool_size, self._predict_phase)

    def forward(self, x: torch.Tensor):
        return _split_heads(_class_softmax(self.head_output(x)), self.pool_size, self._predict_phase)


def build_model(architecture: dict) -> nn.Module:
    """Rebuild an (untrained) HybridModel or FineTunedModel from `model.architecture()`."""
    kind = architecture.get("kind")
    base = HybridModel(HybridModelConfig.from_dict(architecture["network"]))
    if kind == "hybrid":
        return base
    if kind == "fine_tuned":
        ft = dict(architecture["fine_tune"])
        return FineTunedModel(base, excerpt_lstm_layers=ft["excerpt_lstm_layers"],
                              coverage_tracks=ft.get("coverage_tracks", 0), coverage_norm=ft.get("coverage_norm"),
                              hidden_units=ft.get("hidden_units"), predict_phase=ft.get("predict_phase", True),
                              hidden_activation=ft.get("hidden_activation"),
                              fine_tune_mode=ft.get("mode", "fine_tune"))
    raise ValueError(f"unknown model kind {kind!r}")


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def keras_parameter_count(model: nn.Module) -> int:
    """Parameters as Keras counts them (one LSTM bias; BN moving stats included): for parity with upstream logs."""
    total = 0
    for name, p in model.named_parameters():
        if ".bias_hh" in name:
            continue
        total += p.numel()
    for name, b in model.named_buffers():
        if name.endswith("running_mean") or name.endswith("running_var"):
            total += b.numel()
    return total


__all__ = ["HybridModelConfig", "HybridModel", "FineTunedModel", "build_model", "upstream_coverage_excerpt",
           "normalize_coverage", "count_parameters", "keras_parameter_count", "N_CLASSES", "COVERAGE_NORMS"]
