"""`helixtune train`: train a network from scratch or fine-tune a pretrained one (upstream HybridModel.py flags)."""

from __future__ import annotations

import argparse
import ast
import os
import shlex
import sys

from helixtune.train.gene_check import SELECT_BY


def _number_list(text: str):
    """'[0.7, 1.6, 1.2, 1.2]' (upstream's format) or '0.7,1.6,1.2,1.2' -> list of floats; 'None' -> None."""
    if text is None or text.strip() in ("None", "none", ""):
        return None
    try:
        value = ast.literal_eval(text if text.strip().startswith("[") else f"[{text}]")
    except (ValueError, SyntaxError):
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r} (write e.g. \"[0.7, 1.6, 1.2, 1.2]\")")
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, (int, float)) for v in value):
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}")
    return [float(v) for v in value]


def _devices(text: str):
    return text if text == "auto" else int(text)


def duration(text: str) -> float:
    """argparse type for --max-time: '30m', '1h30m', '90s' or seconds."""
    from helixtune.errors import HelixtuneError
    from helixtune.train.config import parse_duration

    try:
        return parse_duration(text)
    except HelixtuneError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train", help="train or fine-tune the network on training_data*.h5 / validation_data*.h5",
        description="Train a HybridModel from scratch, or fine-tune a pretrained one (helixtune or upstream Keras "
                    "model file). Rerunning the same command continues an interrupted run.")
    g = p.add_argument_group("data and files")
    g.add_argument("-d", "--data-dir", required=True, help="folder with training_data*.h5 and validation_data*.h5")
    g.add_argument("-s", "--save-model-path", "-o", "--output", dest="save_model_path",
                   default="best_model.safetensors",
                   help="where the best model (by validation genic F1) is written (default: %(default)s)")
    g.add_argument("--run-dir", default=None,
                   help="checkpoints, metrics.csv, learning_curves.png, TensorBoard logs "
                        "(default: <save-model-path>.run)")
    g.add_argument("--restart", action="store_true", help="ignore an existing checkpoint and start over")
    g.add_argument("--save-every-check", action="store_true",
                   help="also keep the model of every check in <run-dir>/checks/")
    g = p.add_argument_group("network (training from scratch)")
    g.add_argument("--cnn-layers", type=int, default=1, help="convolution layers (default: %(default)s)")
    g.add_argument("--lstm-layers", type=int, default=1, help="bidirectional LSTM layers (default: %(default)s)")
    g.add_argument("--units", type=int, default=32, help="LSTM units per direction (default: %(default)s)")
    g.add_argument("--filter-depth", type=int, default=32, help="filters per convolution layer (default: %(default)s)")
    g.add_argument("--kernel-size", type=int, default=26, help="convolution width in bp (default: %(default)s)")
    g.add_argument("--pool-size", type=int, default=9, help="bases per LSTM timestep (default: %(default)s)")
    g.add_argument("--dropout1", type=float, default=0.0, help="dropout after the convolutions (default: %(default)s)")
    g.add_argument("--dropout2", type=float, default=0.0, help="dropout after the LSTMs (default: %(default)s)")
    g.add_argument("--predict-phase", dest="predict_phase", action="store_true", default=True,
                   help="phase head (on by default, as in upstream 0.3.9)")
    g.add_argument("--no-phase", dest="predict_phase", action="store_false", help="no phase head")
    g = p.add_argument_group("optimisation")
    g.add_argument("-e", "--epochs", type=int, default=10000,
                   help="most epochs; early stopping (--patience) usually ends the run first (default: %(default)s)")
    g.add_argument("-b", "--batch-size", type=int, default=8, help="per device (default: %(default)s)")
    g.add_argument("--val-test-batch-size", type=int, default=32,
                   help="batch size of the validation checks (default: %(default)s)")
    g.add_argument("--patience", type=int, default=3, help="checks without improvement before stopping")
    g.add_argument("--select-by", choices=SELECT_BY, default="genic-f1",
                   help="what picks the best model: base-wise genic F1 (upstream's, default) or sub-genic F1, or the "
                        "CDS-exon or gene F1 of gene models decoded from a fixed validation subset (slower checks)")
    g.add_argument("--gene-check-bp", type=int, default=1_000_000,
                   help="validation bases (whole sequences) decoded by a gene-level check (default 1,000,000)")
    g.add_argument("--max-time", type=duration, default=None,
                   help="train at most this long in this invocation (e.g. 90s, 30m, 2h, 1h30m), then check, save "
                        "the checkpoint and stop; the same command later goes on from there")
    g.add_argument("--max-steps", type=int, default=None,
                   help="optimizer steps of the whole run; then check and finish (raise it to extend the run)")
    g.add_argument("--check-every-nth-batch", type=int, default=1_000_000,
                   help="validate after every n-th batch of an epoch, besides every epoch end")
    g.add_argument("--checkpoint-every-nth-batch", type=int, default=200,
                   help="extra resume points between checks (default: %(default)s)")
    g.add_argument("--optimizer", default="adamw", choices=["adamw", "adam"], help="(default: %(default)s)")
    g.add_argument("--learning-rate", type=float, default=3e-4, help="(default: %(default)s)")
    g.add_argument("--weight-decay", type=float, default=3.5e-5,
                   help="decoupled, not scaled by the learning rate, as upstream (default: %(default)s)")
    g.add_argument("--clip-norm", type=float, default=3.0, help="per-tensor gradient norm limit")
    g.add_argument("--class-weights", type=_number_list, default=None,
                   help='e.g. "[0.7, 1.6, 1.2, 1.2]" (intergenic, UTR, CDS, intron)')
    g.add_argument("--transition-weights", type=_number_list, default=None, help='e.g. "[1, 12, 3, 1, 12, 3]"')
    g.add_argument("--seed", type=int, default=0,
                   help="seed of weights and batch order, so runs repeat (default: %(default)s)")
    g = p.add_argument_group("starting from a pretrained model / fine-tuning")
    g.add_argument("-l", "--load-model-path", default=None,
                   help="pretrained model: helixtune .safetensors or upstream Keras .h5")
    g.add_argument("--resume-training", action="store_true",
                   help="upstream's flag; accepted (loading a model implies it here)")
    g.add_argument("--fine-tune", action="store_true",
                   help="upstream's flag: freeze the network, new final layer (coverage mode with --input-coverage)")
    g.add_argument("--fine-tune-mode", choices=["whole", "head", "head+hidden", "coverage"], default=None,
                   help="whole: all weights; head: frozen network + new final layer; head+hidden: + new hidden "
                        "layer; coverage: frozen network + coverage tracks before the new layer(s)")
    g.add_argument("--fine-tune-resume", action="store_true",
                   help="go on tuning the head of an already fine-tuned model")
    g.add_argument("--input-coverage", action="store_true",
                   help="use evaluation/rnaseq_coverage and evaluation/rnaseq_spliced_coverage as extra inputs")
    g.add_argument("--coverage-norm", choices=["log", "linear", "none"], default=None,
                   help="coverage normalisation: log = ln(x + 1.1), linear = x / 100 (recommended: log)")
    g.add_argument("--post-coverage-hidden-layer", action="store_true",
                   help="a hidden Dense layer before the new final layer (coverage mode)")
    g.add_argument("--hidden-units", type=int, default=None,
                   help="width of the new hidden layer (default: the base model's units // 2)")
    g.add_argument("--head-init", choices=["pretrained", "random"], default="pretrained",
                   help="a new final layer starts as the pretrained one (coverage weights 0) where shapes allow, "
                        "or at random as upstream (default: %(default)s)")
    g.add_argument("--upstream-fine-tune", action="store_true",
                   help="reproduce upstream exactly: coverage mode drops the last BiLSTM (its dense_at - 2 cut), "
                        "linear hidden layer of --units // 2, new final layer at random")
    g = p.add_argument_group("resources")
    g.add_argument("--devices", type=_devices, default=1, help="devices per node, or 'auto' (default: 1)")
    g.add_argument("--num-nodes", type=int, default=1, help="machines of a multi-node run (default: %(default)s)")
    g.add_argument("--accelerator", default="auto", help="auto, cpu, gpu (default: %(default)s)")
    g.add_argument("--precision", default="auto",
                   help="Lightning training precision: 32-true, bf16-mixed, 16-mixed, or auto (default): bf16-mixed "
                        "on GPUs with bfloat16 and on CPUs with native bfloat16 (AVX512-BF16/AMX), else 32-true")
    g.add_argument("--workers", type=int, default=0, help="data-loading worker processes (default: 0)")
    g.add_argument("--deterministic", action="store_true", help="deterministic algorithms (slower on GPUs)")
    g = p.add_argument_group("checks")
    g.add_argument("--allow-degenerate-labels", action="store_true",
                   help="train even when the labels look degenerate (no usable chunk, < 1%% genic bases)")
    g.add_argument("-v", "--verbose", action="store_true", help="print the full metric tables at every check")
    p.set_defaults(func=run)


def run(args) -> int:
    from helixtune.train import TrainConfig, train_model

    config = TrainConfig(
        data_dir=args.data_dir, save_model_path=args.save_model_path, cnn_layers=args.cnn_layers,
        lstm_layers=args.lstm_layers, units=args.units, filter_depth=args.filter_depth, kernel_size=args.kernel_size,
        pool_size=args.pool_size, dropout1=args.dropout1, dropout2=args.dropout2, predict_phase=args.predict_phase,
        epochs=args.epochs, batch_size=args.batch_size, val_test_batch_size=args.val_test_batch_size,
        patience=args.patience, check_every_nth_batch=args.check_every_nth_batch,
        max_time=args.max_time, max_steps=args.max_steps, select_by=args.select_by,
        gene_check_bp=args.gene_check_bp,
        checkpoint_every_nth_batch=args.checkpoint_every_nth_batch, optimizer=args.optimizer,
        learning_rate=args.learning_rate, weight_decay=args.weight_decay, clip_norm=args.clip_norm,
        class_weights=args.class_weights, transition_weights=args.transition_weights,
        load_model_path=args.load_model_path, resume_training=args.resume_training, fine_tune=args.fine_tune,
        fine_tune_mode=args.fine_tune_mode, fine_tune_resume=args.fine_tune_resume,
        input_coverage=args.input_coverage, coverage_norm=args.coverage_norm,
        post_coverage_hidden_layer=args.post_coverage_hidden_layer, hidden_units=args.hidden_units,
        head_init=args.head_init, upstream_fine_tune=args.upstream_fine_tune, seed=args.seed, devices=args.devices,
        num_nodes=args.num_nodes, accelerator=args.accelerator, precision=args.precision,
        num_workers=args.workers, run_dir=args.run_dir, restart=args.restart,
        save_every_check=args.save_every_check, allow_degenerate_labels=args.allow_degenerate_labels,
        deterministic=args.deterministic, command=shlex.join(["helixtune"] + sys.argv[1:]))
    path = train_model(config, verbose=args.verbose)
    if os.environ.get("LOCAL_RANK", "0") == "0" and os.environ.get("NODE_RANK", "0") == "0":
        print(path)  # once, not from every DDP process
    return 0
