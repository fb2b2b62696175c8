"""Everything a training or fine-tuning run needs, as one dataclass (the library face of `helixtune train`)."""

from __future__ import annotations

import ast
import re
from dataclasses import MISSING, asdict, dataclass, field
from pathlib import Path
from typing import Any

from helixtune.errors import HelixtuneError
from helixtune.train.finetune import FINE_TUNE_MODES  # the registry: mode name -> how its model is built
from helixtune.train.gene_check import GENE_CHECK_AVERAGES, SELECT_BY

COVERAGE_NORM_CHOICES = ("log", "linear", "none")


def _option(default=MISSING, help: str = "", *flags: str, **cli) -> Any:
    """A field that is also a command-line option: its flags, help and parser live here, next to its default.

    `cli` keys: `group` (the --help section), `parse` (text or a config file's value -> value; raises
    HelixtuneError), `choices`, `negative` (flags that set a bool field to False), `metavar`,
    `record=False` (an action, not part of the run's recorded config.toml).
    """
    return field(default=default, metadata={"flags": flags, "help": help, **cli})


def parse_duration(text) -> float:
    """'90s', '30m', '2h', '1h30m', '1d' or a plain number of seconds -> seconds (one-line error otherwise)."""
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


def parse_number_list(value) -> list[float] | None:
    """'[0.7, 1.6, 1.2, 1.2]' (upstream's format), '0.7,1.6,1.2,1.2' or a list -> floats; 'None' -> None."""
    if value is None or (isinstance(value, str) and value.strip() in ("None", "none", "")):
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = ast.literal_eval(text if text.startswith("[") else f"[{text}]")
        except (ValueError, SyntaxError):
            raise HelixtuneError(f"not a list of numbers: {text!r} (write e.g. \"[0.7, 1.6, 1.2, 1.2]\")") from None
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                       for v in value):
        raise HelixtuneError(f"not a list of numbers: {value!r}")
    return [float(v) for v in value]


def parse_devices(value) -> int | str:
    """Devices per node: a number, or 'auto'."""
    if value == "auto":
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        raise HelixtuneError(f"not a number of devices or 'auto': {value!r}") from None


_DATA = "data and files"
_NETWORK = "network (training from scratch)"
_OPTIMISATION = "optimisation"
_PRETRAINED = "starting from a pretrained model / fine-tuning"
_RESOURCES = "resources"
_CHECKS = "checks"


@dataclass
class TrainConfig:
    """Options of one run; names follow upstream HybridModel.py's flags where it has them (docs/training.md).

    Each field's metadata is also its `helixtune train` option (see helixtune.cli.options): one default each.
    """

    data_dir: str = _option(MISSING, "folder with training_data*.h5 and validation_data*.h5", "-d", "--data-dir",
                            group=_DATA)
    save_model_path: str = _option(
        "best_model.safetensors", "where the best model (by validation genic F1) is written (default: %(default)s)",
        "-s", "--save-model-path", "-o", "--output", group=_DATA)
    # network (ignored for the loaded part when --load-model-path is given)
    cnn_layers: int = _option(1, "convolution layers (default: %(default)s)", "--cnn-layers", group=_NETWORK)
    lstm_layers: int = _option(1, "bidirectional LSTM layers (default: %(default)s)", "--lstm-layers",
                               group=_NETWORK)
    units: int = _option(32, "LSTM units per direction (default: %(default)s)", "--units", group=_NETWORK)
    filter_depth: int = _option(32, "filters per convolution layer (default: %(default)s)", "--filter-depth",
                                group=_NETWORK)
    kernel_size: int = _option(26, "convolution width in bp (default: %(default)s)", "--kernel-size",
                               group=_NETWORK)
    pool_size: int = _option(9, "bases per LSTM timestep (default: %(default)s)", "--pool-size", group=_NETWORK)
    dropout1: float = _option(0.0, "dropout after the convolutions (default: %(default)s)", "--dropout1",
                              group=_NETWORK)
    dropout2: float = _option(0.0, "dropout after the LSTMs (default: %(default)s)", "--dropout2", group=_NETWORK)
    predict_phase: bool = _option(  # upstream 0.3.9 always builds the phase head
        True, "phase head (on by default, as in upstream 0.3.9)", "--predict-phase", group=_NETWORK,
        negative=("--no-phase",), negative_help="no phase head")
    # optimisation
    epochs: int = _option(
        10000, "most epochs; early stopping (--patience) usually ends the run first (default: %(default)s)",
        "-e", "--epochs", group=_OPTIMISATION)
    batch_size: int = _option(8, "per device (default: %(default)s)", "-b", "--batch-size", group=_OPTIMISATION)
    val_test_batch_size: int = _option(32, "batch size of the validation checks (default: %(default)s)",
                                       "--val-test-batch-size", group=_OPTIMISATION)
    patience: int = _option(3, "checks without improvement before stopping", "--patience", group=_OPTIMISATION)
    check_every_nth_batch: int = _option(1_000_000, "validate after every n-th batch of an epoch, besides every "
                                         "epoch end", "--check-every-nth-batch", group=_OPTIMISATION)
    checkpoint_every_nth_batch: int = _option(200, "extra resume points between checks (default: %(default)s)",
                                              "--checkpoint-every-nth-batch", group=_OPTIMISATION)
    select_by: str = _option(  # see train/gene_check.py
        "auto", "what picks the best model: base-wise genic F1 (upstream's) or sub-genic F1, or the CDS-exon or "
        "gene F1 of gene models decoded from a fixed validation subset (slower checks); auto (default): gene-f1 "
        "when fine-tuning a pretrained model, genic-f1 otherwise",
        "--select-by", group=_OPTIMISATION, choices=SELECT_BY)
    gene_check_bp: int = _option(1_000_000, "validation bases (whole sequences) decoded by a gene-level check "
                                 "(default 1,000,000)", "--gene-check-bp", group=_OPTIMISATION)
    gene_check_decoder: str = _option(  # see train/gene_check.py for why helixerpost is the default
        "helixerpost", "the decoder of a gene-level check: helixerpost (default) or genome (annotate's and "
        "self-train's)", "--gene-check-decoder", group=_OPTIMISATION, choices=("genome", "helixerpost"))
    gene_check_params: str | None = _option(
        None, "genome-decoder parameters of a gene-level check (default: the bundled ones)", "--gene-check-params",
        group=_OPTIMISATION, metavar="JSON")
    gene_check_average: str = _option(
        "pooled", "how a gene-level check scores several validation files: pooled (default: F1 over all their "
        "genes) or per-file (the mean of each file's F1, so every genome counts alike)", "--gene-check-average",
        group=_OPTIMISATION, choices=GENE_CHECK_AVERAGES)
    max_time: float | None = _option(  # seconds of training in this invocation; then check, checkpoint, stop
        None, "train at most this long in this invocation (e.g. 90s, 30m, 2h, 1h30m), then check, save the "
        "checkpoint and stop; the same command later goes on from there", "--max-time", group=_OPTIMISATION,
        parse=parse_duration)
    max_steps: int | None = _option(  # optimizer steps of the whole run; then check and finish
        None, "optimizer steps of the whole run; then check and finish (raise it to extend the run)",
        "--max-steps", group=_OPTIMISATION)
    optimizer: str = _option("adamw", "(default: %(default)s)", "--optimizer", group=_OPTIMISATION,
                             choices=("adamw", "adam"))
    learning_rate: float = _option(3e-4, "(default: %(default)s)", "--learning-rate", group=_OPTIMISATION)
    weight_decay: float = _option(3.5e-5, "decoupled, not scaled by the learning rate, as upstream "
                                  "(default: %(default)s)", "--weight-decay", group=_OPTIMISATION)
    clip_norm: float = _option(3.0, "per-tensor gradient norm limit", "--clip-norm", group=_OPTIMISATION)
    class_weights: list[float] | None = _option(
        None, 'e.g. "[0.7, 1.6, 1.2, 1.2]" (intergenic, UTR, CDS, intron)', "--class-weights",
        group=_OPTIMISATION, parse=parse_number_list)
    transition_weights: list[float] | None = _option(None, 'e.g. "[1, 12, 3, 1, 12, 3]"', "--transition-weights",
                                                     group=_OPTIMISATION, parse=parse_number_list)
    utr_reach: int | None = _option(
        None, "for genomes that annotate no UTRs: their intergenic labels mean 'intergenic or UTR' only within "
        "this many bases of a gene, plain intergenic farther away (default: everywhere)", "--utr-reach",
        group=_OPTIMISATION, metavar="BP")
    balance_training_files: bool = _option(
        False, "each epoch draws the same number of subsequences from every training file (e.g. one per "
        "genome), repeating a small file's and sampling a large one's, instead of every subsequence once",
        "--balance-training-files", group=_OPTIMISATION)
    check_starting_model: str = _option(  # off by default: see docs/training.md for the measurement
        "no", "score the starting model before the first step, as check 1, so that a run in which no later "
        "check beats it keeps it: yes, no (default), or auto (yes when fine-tuning a pretrained model)",
        "--check-starting-model", group=_OPTIMISATION, choices=("auto", "yes", "no"))
    decoder_statistics: str = _option(
        "auto", "fit the genome decoder's statistics (lengths, splice sites, codons) on the training labels and "
        "store them in the saved model, which annotate then decodes with: yes, no, or auto (default: yes when "
        "fine-tuning a pretrained model)", "--decoder-statistics", group=_OPTIMISATION,
        choices=("auto", "yes", "no"))
    # starting point and fine-tuning (docs/fine-tuning.md)
    load_model_path: str | None = _option(None, "pretrained model: helixtune .safetensors or upstream Keras .h5",
                                          "-l", "--load-model-path", group=_PRETRAINED)
    resume_training: bool = _option(  # accepted for upstream compatibility: loading a model implies it here
        False, "upstream's flag; accepted (loading a model implies it here)", "--resume-training",
        group=_PRETRAINED)
    fine_tune: bool = _option(False, "upstream's flag: freeze the network, new final layer (coverage mode with "
                              "--input-coverage)", "--fine-tune", group=_PRETRAINED)
    fine_tune_mode: str | None = _option(  # derived from upstream's flags when None
        None, "whole: all weights; head: frozen network + new final layer; head+hidden: + new hidden layer; "
        "coverage: frozen network + coverage tracks before the new layer(s)", "--fine-tune-mode",
        group=_PRETRAINED, choices=FINE_TUNE_MODES)
    fine_tune_resume: bool = _option(False, "go on tuning the head of an already fine-tuned model",
                                     "--fine-tune-resume", group=_PRETRAINED)
    input_coverage: bool = _option(False, "use evaluation/rnaseq_coverage and evaluation/rnaseq_spliced_coverage "
                                   "as extra inputs", "--input-coverage", group=_PRETRAINED)
    coverage_norm: str | None = _option(None, "coverage normalisation: log = ln(x + 1.1), linear = x / 100 "
                                        "(recommended: log)", "--coverage-norm", group=_PRETRAINED,
                                        choices=COVERAGE_NORM_CHOICES)
    post_coverage_hidden_layer: bool = _option(False, "a hidden Dense layer before the new final layer "
                                               "(coverage mode)", "--post-coverage-hidden-layer", group=_PRETRAINED)
    hidden_units: int | None = _option(None, "width of the new hidden layer (default: the base model's units // 2)",
                                       "--hidden-units", group=_PRETRAINED)
    head_init: str = _option(  # upstream: random
        "pretrained", "a new final layer starts as the pretrained one (coverage weights 0) where shapes allow, or "
        "at random as upstream (default: %(default)s)", "--head-init", group=_PRETRAINED,
        choices=("pretrained", "random"))
    upstream_fine_tune: bool = _option(
        False, "reproduce upstream exactly: coverage mode drops the last BiLSTM (its dense_at - 2 cut), linear "
        "hidden layer of --units // 2, new final layer at random", "--upstream-fine-tune", group=_PRETRAINED)
    # run control
    seed: int = _option(0, "seed of weights and batch order, so runs repeat (default: %(default)s)", "--seed",
                        group=_OPTIMISATION)
    devices: int | str = _option(1, "devices per node, or 'auto' (default: 1)", "--devices", group=_RESOURCES,
                                 parse=parse_devices)
    num_nodes: int = _option(1, "machines of a multi-node run (default: %(default)s)", "--num-nodes",
                             group=_RESOURCES)
    accelerator: str = _option("auto", "auto, cpu, gpu (default: %(default)s)", "--accelerator", group=_RESOURCES)
    precision: str = _option(  # auto: bf16-mixed where bfloat16 is native, else 32-true
        "auto", "Lightning training precision: 32-true, bf16-mixed, 16-mixed, or auto (default): bf16-mixed on "
        "GPUs with bfloat16 and on CPUs with native bfloat16 (AVX512-BF16/AMX), else 32-true", "--precision",
        group=_RESOURCES)
    num_workers: int = _option(0, "data-loading worker processes (default: 0)", "--workers", group=_RESOURCES)
    run_dir: str | None = _option(  # checkpoints, logs, curves (default: <save_model_path>.run/)
        None, "checkpoints, metrics.csv, learning_curves.png, TensorBoard logs (default: <save-model-path>.run)",
        "--run-dir", group=_DATA)
    restart: bool = _option(False, "ignore an existing checkpoint and start over", "--restart", group=_DATA,
                            record=False)
    save_every_check: bool = _option(False, "also keep the model of every check in <run-dir>/checks/",
                                     "--save-every-check", group=_DATA)
    allow_degenerate_labels: bool = _option(
        False, "train even when the labels look degenerate (no usable chunk, < 1%% genic bases)",
        "--allow-degenerate-labels", group=_CHECKS)
    min_genic_fraction: float = 0.01
    deterministic: bool = _option(False, "deterministic algorithms (slower on GPUs)", "--deterministic",
                                  group=_RESOURCES)
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
        if self.utr_reach is not None and self.utr_reach < 0:
            raise HelixtuneError(f"--utr-reach must be 0 or more bases, got {self.utr_reach}")
        if self.transition_weights is not None and len(self.transition_weights) != 6:
            raise HelixtuneError(f"--transition-weights needs 6 numbers, got {len(self.transition_weights)}")
        if self.select_by not in SELECT_BY:
            raise HelixtuneError(f"--select-by must be one of {', '.join(SELECT_BY)}, got {self.select_by!r}")
        if self.gene_check_bp < 1:
            raise HelixtuneError(f"--gene-check-bp must be >= 1, got {self.gene_check_bp}")
        if self.gene_check_params is not None and self.gene_check_decoder != "genome":
            raise HelixtuneError("--gene-check-params needs --gene-check-decoder genome")
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

    def checks_starting_model(self) -> bool:
        if self.check_starting_model == "auto":
            return bool(self.load_model_path)
        return self.check_starting_model == "yes"

    def resolved_run_dir(self) -> Path:
        return Path(self.run_dir) if self.run_dir else Path(str(self.save_model_path) + ".run")

    def to_dict(self) -> dict:
        return asdict(self)

    def identity(self) -> dict:
        """The options that must not change when a run is resumed (they define what is being trained)."""
        keys = ("data_dir", "cnn_layers", "lstm_layers", "units", "filter_depth", "kernel_size", "pool_size",
                "dropout1", "dropout2", "predict_phase", "batch_size", "class_weights", "transition_weights",
                "utr_reach", "fine_tune_resume", "input_coverage", "coverage_norm",
                "post_coverage_hidden_layer", "hidden_units", "upstream_fine_tune", "seed", "optimizer",
                "head_init")
        out = {k: getattr(self, k) for k in keys if k != "data_dir"}
        if self.balance_training_files:  # only when set: runs from before the option resume as they were
            out["balance_training_files"] = True
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
            # by content, not by path: a tuning run goes on where its checkout and pretrained model now live
            from helixtune.data import resolve_model_path
            from helixtune.model.model_file import file_md5

            model = Path(resolve_model_path(self.load_model_path))
            out["load_model_md5"] = file_md5(model) if model.is_file() else str(model)
        return out
