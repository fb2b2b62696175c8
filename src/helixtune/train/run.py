"""`train_model(TrainConfig) -> path`: one training or fine-tuning run, resumable, on Lightning."""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
from pathlib import Path

from helixtune.errors import HelixtuneError, InputFileError
from helixtune.train.config import TrainConfig


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C / SIGTERM during training; the last checkpoint stays and a rerun continues from it."""


def _coverage_tracks(path) -> int:
    from helixtune.h5layout import open_h5
    from helixtune.train.data import COVERAGE

    with open_h5(path) as h5:
        if COVERAGE.path not in h5:
            raise InputFileError(path, f"dataset '{COVERAGE.path}' is missing (needed by --input-coverage; add it "
                                       f"with helixtune add-coverage --dataset-prefix rnaseq)")
        return int(h5[COVERAGE.path].shape[2])


def _log(message: str) -> None:
    if int(os.environ.get("LOCAL_RANK", "0")) == 0 and int(os.environ.get("NODE_RANK", "0")) == 0:
        print(message, file=sys.stderr, flush=True)


def _decide_resume(config: TrainConfig, checkpoint: Path) -> str:
    """'fresh', 'resume', or 'complete' (a finished run that the new options do not extend)."""
    from helixtune.train.resume_point import read_checkpoint_state

    if config.restart or not checkpoint.exists():
        return "fresh"
    try:
        state = read_checkpoint_state(checkpoint)
    except Exception as err:
        raise InputFileError(checkpoint, f"unreadable checkpoint ({str(err).splitlines()[0]}); pass --restart to "
                                         f"start over") from None
    if state is None:
        raise InputFileError(checkpoint, "not a helixtune training checkpoint; pass --restart to start over")
    old, new = state.get("identity", {}), config.identity()
    if "data_dir" in old and "data_files" not in old:  # a checkpoint from before runs could move
        new.pop("data_files")
        new["data_dir"] = str(Path(config.data_dir).resolve())
    if "load_model_path" in old and "load_model_md5" in new:  # from before the pretrained model could move
        new.pop("load_model_md5")
        new["load_model_path"] = str(Path(config.load_model_path).resolve())
    changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    if changed:
        raise HelixtuneError(f"{checkpoint}: the run there was started with different options ({', '.join(changed)}); "
                             f"pass --restart to start over, or use another --save-model-path / --run-dir")
    finished = state.get("finished")
    if finished == "epochs" and state["epoch"] + 1 >= config.epochs:
        return "complete"
    if finished == "patience" and state["checks_without_improvement"] >= config.patience:
        return "complete"
    if finished == "steps" and config.max_steps is not None and state.get("step", 0) >= config.max_steps:
        return "complete"
    return "resume"


def resolve_precision(precision: str, accelerator: str) -> str:
    """Lightning's precision for `auto`: bfloat16 autocast where the hardware runs bfloat16 natively.

    On a CPU with AVX512-BF16 a training step of the bundled network is 2.7 times faster in bf16-mixed than in
    float32 (bench/train_throughput.py); weights, optimizer state and the loss stay float32.
    """
    if precision != "auto":
        return precision
    import torch

    if accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available():
        return "bf16-mixed" if torch.cuda.is_bf16_supported() else "32-true"
    from helixtune.predict.engine import cpu_has_bfloat16

    return "bf16-mixed" if cpu_has_bfloat16() else "32-true"


def train_model(config: TrainConfig, verbose: bool = True, extra_callbacks=()) -> Path:
    """Train (or fine-tune) as configured; returns the path of the best model (by validation genic F1).

    Re-running with the same options continues an interrupted run from `<run_dir>/last.ckpt`; a finished run is
    left alone (its model path is returned) unless the new options extend it (more --epochs, more --patience).
    With the first checkpoint, the options are written to `<run_dir>/config.toml` (`helixtune train --config`
    reads it back).
    `extra_callbacks`: Lightning callbacks run after the run's own checks and checkpoint at every hook.
    """
    import warnings

    import lightning.pytorch as pl
    import torch

    # our batch sampler resumes mid-epoch itself (TrainingChecks restores its position); Lightning cannot see that
    warnings.filterwarnings("ignore", message="You're resuming from a checkpoint that ended before the epoch")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    # frozen parts of fine-tuned models are in eval mode on purpose (BatchNorm keeps its statistics)
    warnings.filterwarnings("ignore", message=r"Found \d+ module\(s\) in eval mode")
    from torch.utils.data import DataLoader

    from helixtune.train.callbacks import TrainingChecks
    from helixtune.train.data import (
        ChunkDataset,
        DataOptions,
        EpochBatchSampler,
        check_label_quality,
        collate,
        find_data_files,
    )
    from helixtune.train.finetune import build_training_model
    from helixtune.train.gene_check import resolve_selection
    from helixtune.train.module import HelixerTrainingModule

    trains, vals = find_data_files(config.data_dir)
    run_dir = config.resolved_run_dir()
    checkpoint = run_dir / "last.ckpt"
    decision = _decide_resume(config, checkpoint)
    save_path = Path(config.save_model_path)
    if decision == "complete":
        _log(f"the run in {run_dir} is already complete; best model: {save_path} "
             f"(raise --epochs or --patience to extend it, or pass --restart)")
        if not save_path.exists():
            raise InputFileError(save_path, "the finished run's best model is missing; pass --restart")
        return save_path

    if not config.allow_degenerate_labels:
        summary = check_label_quality(trains, config.min_genic_fraction)
        _log(f"training data: {summary.n_usable_chunks} of {summary.n_chunks} chunks usable, "
             f"{100 * summary.genic_fraction:.1f}% genic bases")

    coverage_tracks = _coverage_tracks(trains[0]) if config.input_coverage else 0
    pl.seed_everything(config.seed, verbose=False)
    model, info = build_training_model(config, coverage_tracks)
    options = DataOptions(pool_size=model.pool_size, predict_phase=model.predict_phase,
                          class_weights=config.class_weights, transition_weights=config.transition_weights,
                          input_coverage=coverage_tracks > 0)
    train_set = ChunkDataset(trains, "train", options)
    val_set = ChunkDataset(vals, "val", options)
    if len(train_set) == 0:
        raise HelixtuneError(f"{config.data_dir}: no usable training chunk (all un-annotated or fully masked)")
    if len(val_set) == 0:
        raise HelixtuneError(f"{config.data_dir}: no usable validation chunk (all un-annotated or fully masked)")
    if coverage_tracks and val_set.coverage_count != coverage_tracks:
        raise InputFileError(vals[0], f"has {val_set.coverage_count} coverage tracks, the training data "
                                      f"{coverage_tracks}")
    if decision == "fresh" and run_dir.exists() and config.restart:
        if int(os.environ.get("LOCAL_RANK", "0")) == 0:
            shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    n_total = sum(p.numel() for p in model.parameters())
    _log(f"mode {info['mode']}: {n_trainable:,} of {n_total:,} parameters trainable; "
         f"{len(train_set)} training chunks ({train_set.n_masked} masked), {len(val_set)} validation chunks "
         f"({val_set.n_masked} masked)")

    world_devices = config.devices
    strategy = "auto"
    n_devices = world_devices if isinstance(world_devices, int) else None
    if config.num_nodes > 1 or (n_devices is not None and n_devices > 1) or world_devices == -1:
        from lightning.pytorch.strategies import DDPStrategy

        strategy = DDPStrategy(find_unused_parameters=False)
    from helixtune.progress import progress_enabled

    # Lightning's deterministic=True switches torch to deterministic algorithms for the whole process and
    # leaves it on; restore the caller's setting afterwards (inference is many times slower with it on)
    deterministic_before = torch.are_deterministic_algorithms_enabled()
    trainer = pl.Trainer(max_epochs=config.epochs, accelerator=config.accelerator, devices=config.devices,
                         num_nodes=config.num_nodes, strategy=strategy,
                         precision=resolve_precision(config.precision, config.accelerator),
                         logger=False, enable_checkpointing=False, enable_model_summary=False,
                         num_sanity_val_steps=0, limit_val_batches=0, use_distributed_sampler=False,
                         enable_progress_bar=progress_enabled(), deterministic=config.deterministic,
                         log_every_n_steps=1, default_root_dir=str(run_dir), callbacks=[])
    rank, world = trainer.global_rank, trainer.world_size
    sampler = EpochBatchSampler(len(train_set), config.batch_size, shuffle=True, seed=config.seed, rank=rank,
                                world_size=world,
                                file_sizes=[len(f.rows) for f in train_set.files] if config.balance_training_files
                                else None)
    # persistent workers keep their decoded-sample caches from one epoch to the next
    train_loader = DataLoader(train_set, batch_sampler=sampler, collate_fn=collate, num_workers=config.num_workers,
                              persistent_workers=config.num_workers > 0)
    val_indices = list(range(rank, len(val_set), world))
    val_loader = DataLoader(torch.utils.data.Subset(val_set, val_indices), batch_size=config.val_test_batch_size,
                            shuffle=False, collate_fn=collate, num_workers=0)
    metadata = {
        "provenance": {"trained_by": "helixtune train", "mode": info["mode"], "command": config.command,
                       "head_init": info.get("head_init"),
                       "training_data": [str(p) for p in trains], "validation_data": [str(p) for p in vals],
                       "options": config.to_dict()},
        "base_model": info["base_model"],
        "base_frozen": info["mode"] not in ("scratch", "whole"),
    }
    select_by, gene_check, why = resolve_selection(config, vals, run_dir / "gene_check", world)
    if select_by != config.select_by:
        _log(f"checkpoints selected by {select_by} (--select-by {config.select_by}: {why})")
        config = dataclasses.replace(config, select_by=select_by)
    check = TrainingChecks(config, val_loader, sampler, run_dir, metadata, verbose=verbose, gene_check=gene_check)
    trainer.callbacks.append(check)
    trainer.callbacks.extend(extra_callbacks)  # after ours: they see each step's check and checkpoint done
    module = HelixerTrainingModule(model, learning_rate=config.learning_rate, weight_decay=config.weight_decay,
                                   clip_norm=config.clip_norm, optimizer=config.optimizer,
                                   utr_reach=config.utr_reach)
    ckpt_path = None
    if decision == "resume":
        ckpt_path = str(checkpoint)
        _log(f"resuming from {checkpoint}")
    hint = f"training interrupted; rerun the same command to continue from {checkpoint}"
    try:
        trainer.fit(module, train_dataloaders=train_loader, ckpt_path=ckpt_path, weights_only=True)
    except (SystemExit, KeyboardInterrupt) as err:
        # Lightning turns Ctrl-C into sys.exit(1) after a graceful shutdown; a library must not exit
        if trainer.interrupted or isinstance(err, KeyboardInterrupt):
            _log(hint)
            raise TrainingInterrupted(hint) from None
        raise
    except Exception as err:
        if type(err).__name__ == "SIGTERMException":  # pre-emption (e.g. SLURM): same as Ctrl-C
            _log(hint)
            raise TrainingInterrupted(hint) from None
        raise
    finally:
        train_set.close()
        val_set.close()
        torch.use_deterministic_algorithms(deterministic_before)
    if trainer.interrupted:
        _log(hint)
        raise TrainingInterrupted(hint)
    if not check.finished and not check.stopped_by_time:
        check.finished = "epochs"
    if not save_path.exists():
        raise HelixtuneError(f"training ended without a saved model at {save_path}")
    _log(f"best validation {config.select_by} {check.best_score:.4f}; model: {save_path}; curves and metrics: {run_dir}")
    if trainer.is_global_zero and _fits_decoder_statistics(config):
        _store_decoder_statistics(config, save_path, trains + vals, run_dir)
    return save_path


def _fits_decoder_statistics(config: TrainConfig) -> bool:
    if config.decoder_statistics == "auto":
        return bool(config.load_model_path)
    return config.decoder_statistics == "yes"


def _store_decoder_statistics(config: TrainConfig, save_path: Path, labelled, run_dir: Path) -> None:
    """The species' own genome-decoder statistics, from the run's labels, into the saved model
    (train/decoder_statistics.py)."""
    from helixtune.train import decoder_statistics

    base = decoder_statistics.starting_params(config.load_model_path)
    try:
        params, why = decoder_statistics.fit_from_labels(labelled, base, run_dir / "decoder_statistics")
    except HelixtuneError as err:  # e.g. cropped chunks hold no whole sequence; the model is saved already
        params, why = None, str(err)
    if params is None:
        _log(f"decoder statistics: none stored ({why})")
        return
    decoder_statistics.store_in_model(save_path, params)
    _log(f"decoder statistics {why}: stored in {save_path} (annotate decodes with them unless given --params)")
