"""Everything a training or fine-tuning run needs, as one dataclass (the library face of `helixtune train`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from helixtune.errors import HelixtuneError

FINE_TUNE_MODES = ("whole", "head", "head+hidden", "coverage")
COVERAGE_NORM_CHOICES = ("log", "linear", "none")


@dataclass
class TrainConfig:
    """Options of one run; names follow upstream HybridModel.py's flags (spec §3.6) where it has them."""

    data_dir: str
    save_model_path: str = "best_model.safetensors"
    # network (ignored for the loaded part when --load-model-path is given)
    cnn_layers: int = 1
    lstm_layers: int = 1
    units: int = 32
    filter_depth: int = 32
    kernel_size: int = 26
    pool_size: int = 9
    dropout1: float = 0.0
    dropout2: float = 0.0
    predict_phase: bool = True  # upstream 0.3.9 always builds the phase head
    # optimisation
    epochs: int = 10000
    batch_size: int = 8
    val_test_batch_size: int = 32
    patience: int = 3
    check_every_nth_batch: int = 1_000_000
    checkpoint_every_nth_batch: int = 200  # extra resume points between checks
    select_by: str = "genic-f1"  # genic-f1 | sub-genic-f1 | cds-exon-f1 | gene-f1 (see train/gene_check.py)
    gene_check_bp: int = 1_000_000  # validation bases decoded by a gene-level check
    max_time: float | None = None  # seconds of training in this invocation; then check, checkpoint, stop (resumable)
    max_steps: int | None = None  # optimizer steps of the whole run; then check and finish
    optimizer: str = "adamw"
    learning_rate: float = 3e-4
    weight_decay: float = 3.5e-5
    clip_norm: float = 3.0
    class_weights: list[float] | None = None
    transition_weights: list[float] | None = None
    # starting point and fine-tuning (spec §4)
    load_model_path: str | None = None
    resume_training: bool = False  # accepted for upstream compatibility: loading a model implies it here
    fine_tune: bool = False
    fine_tune_mode: str | None = None  # whole | head | head+hidden | coverage (derived from upstream flags if None)
    fine_tune_resume: bool = False  # keep the loaded tuned model's head and go on tuning it
    input_coverage: bool = False
    coverage_norm: str | None = None  # log | linear | None
    post_coverage_hidden_layer: bool = False
    hidden_units: int | None = None  # width of the new hidden layer (default: base units // 2)
    head_init: str = "pretrained"  # pretrained | random: how a new final layer starts (upstream: random)
    upstream_fine_tune: bool = False  # reproduce upstream exactly: coverage cut at dense_at - 2, linear hidden
    # run control
    seed: int = 0
    devices: int | str = 1
    num_nodes: int = 1
    accelerator: str = "auto"
    precision: str = "auto"  # Lightning's precision; auto: bf16-mixed where bfloat16 is native, else 32-true
    num_workers: int = 0
    run_dir: str | None = None  # checkpoints, logs, curves (default: <save_model_path>.run/)
    restart: bool = False  # ignore an existing checkpoint and start over
    save_every_check: bool = False
    allow_degenerate_labels: bool = False
    min_genic_fraction: float = 0.01
    deterministic: bool = False
    command: str | None = None  # recorded in the model file's provenance
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.coverage_norm in ("none", "None", ""):
            self.coverage_norm = None
        if self.coverage_norm not in (None, "log", "linear"):
            raise HelixtuneError(f"--coverage-norm must be log, linear or none, got {self.coverage_norm!r}")
        if self.fine_tune_mode is not None and self.fine_tune_mode not in FINE_TUNE_MODES:
            raise HelixtuneError(f"--fine-tune-mode must be one of {', '.join(FINE_TUNE_MODES)}, "
                                 f"got {self.fine_tune_mode!r}")
        if self.head_init not in ("pretrained", "random"):
            raise HelixtuneError(f"--head-init must be pretrained or random, got {self.head_init!r}")
        if self.optimizer.lower() not in ("adamw", "adam"):
            raise HelixtuneError(f"--optimizer must be adamw or adam, got {self.optimizer!r}")
        for name in ("epochs", "batch_size", "val_test_batch_size", "patience", "check_every_nth_batch",
                     "checkpoint_every_nth_batch"):
            if int(getattr(self, name)) < 1:
                raise HelixtuneError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if self.class_weights is not None and len(self.class_weights) != 4:
            raise HelixtuneError(f"--class-weights needs 4 numbers (intergenic, UTR, CDS, intron), "
                                 f"got {len(self.class_weights)}")
        if self.transition_weights is not None and len(self.transition_weights) != 6:
            raise HelixtuneError(f"--transition-weights needs 6 numbers, got {len(self.transition_weights)}")
        from helixtune.train.gene_check import SELECT_BY

        if self.select_by not in SELECT_BY:
            raise HelixtuneError(f"--select-by must be one of {', '.join(SELECT_BY)}, got {self.select_by!r}")
        if self.gene_check_bp < 1:
            raise HelixtuneError(f"--gene-check-bp must be >= 1, got {self.gene_check_bp}")
        if self.max_time is not None and self.max_time <= 0:
            raise HelixtuneError(f"--max-time must be positive, got {self.max_time}")
        if self.max_steps is not None and self.max_steps < 1:
            raise HelixtuneError(f"--max-steps must be >= 1, got {self.max_steps}")
        if self.learning_rate <= 0:
            raise HelixtuneError(f"--learning-rate must be positive, got {self.learning_rate}")
        mode = self.resolved_mode()
        if mode in ("whole", "head", "head+hidden", "coverage") and not self.load_model_path:
            raise HelixtuneError(f"fine-tune mode {mode} needs --load-model-path (the pretrained model)")
        if mode == "coverage" and not self.input_coverage:
            self.input_coverage = True  # the mode means it
        if self.fine_tune_resume and not self.load_model_path:
            raise HelixtuneError("--fine-tune-resume needs --load-model-path (the tuned model)")

    def resolved_mode(self) -> str:
        """'scratch', or the fine-tune mode, from --fine-tune-mode or upstream's flags."""
        if self.fine_tune_mode:
            return self.fine_tune_mode
        if not self.load_model_path:
            return "scratch"
        if self.fine_tune:
            if self.input_coverage:
                return "coverage"
            return "head+hidden" if (self.post_coverage_hidden_layer and not self.upstream_fine_tune) else "head"
        return "whole"

    def resolved_run_dir(self) -> Path:
        return Path(self.run_dir) if self.run_dir else Path(str(self.save_model_path) + ".run")

    def to_dict(self) -> dict:
        return asdict(self)

    def identity(self) -> dict:
        """The options that must not change when a run is resumed (they define what is being trained)."""
        keys = ("data_dir", "cnn_layers", "lstm_layers", "units", "filter_depth", "kernel_size", "pool_size",
                "dropout1", "dropout2", "predict_phase", "batch_size", "class_weights", "transition_weights",
                "load_model_path", "fine_tune_resume", "input_coverage", "coverage_norm",
                "post_coverage_hidden_layer", "hidden_units", "upstream_fine_tune", "seed", "optimizer",
                "head_init")
        out = {k: getattr(self, k) for k in keys if k != "data_dir"}
        out["mode"] = self.resolved_mode()
        # the data by file name, not by path: a run goes on where its checkout and data now live
        from helixtune.errors import InputFileError
        from helixtune.train.data import find_data_files

        try:
            trains, vals = find_data_files(self.data_dir)
            out["data_files"] = [p.name for p in trains] + [p.name for p in vals]
        except InputFileError:  # no data (yet): the training run reports that itself
            out["data_files"] = [str(self.data_dir)]
        if self.load_model_path:
            out["load_model_path"] = str(Path(self.load_model_path).resolve())
        return out


def parse_duration(text) -> float:
    """'90s', '30m', '2h', '1h30m', '1d' or a plain number of seconds -> seconds (one-line error otherwise)."""
    import re

    value = str(text).strip().lower()
    try:
        return float(value)
    except ValueError:
        pass
    parts = re.fullmatch(r"(?:(\d+(?:\.\d+)?)d)?(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?:in)?)?"
                         r"(?:(\d+(?:\.\d+)?)s)?", value)
    if not value or parts is None or not any(parts.groups()):
        raise HelixtuneError(f"not a duration: '{text}' (examples: 90s, 30m, 2h, 1h30m)")
    days, hours, minutes, seconds = (float(g) if g else 0.0 for g in parts.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds
