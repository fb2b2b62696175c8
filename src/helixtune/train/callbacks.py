"""Upstream's training checks as a Lightning callback, plus exact resume.

A *check* (spec §3.5) computes the base-wise metrics on the whole validation set with the current weights.
Checks happen after every `check_every_nth_batch`-th batch of an epoch and at the end of every epoch (once
when both coincide). If the selection score (`--select-by`: upstream's genic F1 by default, or the sub-genic
F1, or the CDS-exon or gene F1 of decoded gene models, see `gene_check`) beats the best so far, the model is
saved (atomically) to `save_model_path`; otherwise the no-improvement counter grows and training stops when
it reaches `patience` (counted in checks, not epochs).

The callback also writes the resume point `<run_dir>/last.ckpt` (atomically) at every check and every
`checkpoint_every_nth_batch` optimizer steps. The checkpoint holds the weights, optimizer state, loop
progress, this callback's state (best F1, patience counter, history) and the position in the epoch's
shuffled batch order, so a killed run continues exactly where the checkpoint was taken.
"""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import sys
import time
from pathlib import Path

import lightning.pytorch as pl
import torch

from helixtune.model import model_file
from helixtune.train.gene_check import basewise_score
from helixtune.train.module import metrics_from_tensor, metrics_to_tensor

# set by tests to SIGKILL the process right after the given optimizer step (fault injection)
FAULT_KILL_ENV = "HELIXTUNE_FAULT_KILL_AT_STEP"

CSV_COLUMNS = ["check", "epoch", "batch", "step", "time_s", "cpu_s", "train_loss", "genic_precision", "genic_recall",
               "genic_f1", "sub_genic_f1", "legacy_cds_f1", "ig_f1", "utr_f1", "exon_f1", "intron_f1",
               "accuracy", "phase_f1", "phase_0_f1", "phase_1_f1", "phase_2_f1", "no_phase_f1", "cds_exon_f1",
               "gene_f1", "predicted_genes", "gene_check_s", "select_by", "score", "best_score",
               "improved", "checks_without_improvement"]


class CheckCallback(pl.Callback):
    def __init__(self, config, val_loader, batch_sampler, run_dir: Path, model_metadata: dict,
                 verbose: bool = True, gene_check=None):
        self.config = config
        self.val_loader = val_loader
        self.batch_sampler = batch_sampler
        self.run_dir = Path(run_dir)
        self.model_metadata = model_metadata
        self.verbose = verbose
        self.gene_check = gene_check  # GeneLevelCheck for --select-by cds-exon-f1 / gene-f1
        self.best_score = 0.0  # of the --select-by metric
        self.score = 0.0  # of the latest check
        self.best_saved = False
        self.checks_without_improvement = 0
        self.history: list[dict] = []
        self.epoch = 0
        self.batches_done = 0  # in the current epoch
        self.finished: str | None = None
        self.step = 0  # optimizer steps of the run so far
        self.stopped_by_time = False  # --max-time ended this invocation; the run itself goes on next time
        self.started = time.time()
        self.elapsed_before = 0.0
        self.cpu_started = time.process_time()
        self.cpu_before = 0.0  # CPU seconds of earlier invocations (all threads), for curves against compute
        self.last_check_step = -1
        self.loss_sum = 0.0  # training loss since the last check (for the learning curves)
        self.loss_batches = 0

    # ---- paths ---------------------------------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / "last.ckpt"

    @property
    def csv_path(self) -> Path:
        return self.run_dir / "metrics.csv"

    @property
    def png_path(self) -> Path:
        return self.run_dir / "learning_curves.png"

    # ---- state that goes into the checkpoint ----------------------------------------------------------
    def state_dict(self) -> dict:
        return {"best_score": self.best_score, "select_by": self.config.select_by, "best_saved": self.best_saved,
                "checks_without_improvement": self.checks_without_improvement, "history": self.history,
                "epoch": self.epoch, "batches_done": self.batches_done, "batches_per_epoch": len(self.batch_sampler),
                "finished": self.finished, "step": self.step, "elapsed": self.elapsed(), "cpu": self.cpu_seconds(), "identity": self.config.identity(),
                "loss_sum": self.loss_sum, "loss_batches": self.loss_batches,
                "rng": _rng_state()}

    def load_state_dict(self, state: dict) -> None:
        self.best_score = float(state.get("best_score", state.get("best_genic_f1", 0.0)))
        self.best_saved = bool(state["best_saved"])
        if state.get("select_by", "genic-f1") != self.config.select_by:
            # another selection metric: its scores are not comparable; the next check starts the new best
            self.best_score, self.best_saved = 0.0, False
        self.checks_without_improvement = int(state["checks_without_improvement"])
        self.history = list(state["history"])
        self.epoch = int(state["epoch"])
        self.batches_done = int(state["batches_done"])
        self.elapsed_before = float(state.get("elapsed", 0.0))
        self.cpu_before = float(state.get("cpu", 0.0))
        self.cpu_started = time.process_time()
        self.loss_sum = float(state.get("loss_sum", 0.0))
        self.loss_batches = int(state.get("loss_batches", 0))
        self.started = time.time()
        self.finished = None  # the caller decided to go on
        # where the interrupted epoch stands in its shuffled batch order
        if self.batches_done >= int(state["batches_per_epoch"]):
            self.batch_sampler.set_epoch(self.epoch + 1)
            self.batch_sampler.skip_batches = 0
        else:
            self.batch_sampler.set_epoch(self.epoch)
            self.batch_sampler.skip_batches = self.batches_done
        if state.get("rng"):
            _set_rng_state(state["rng"])
        if self.history:
            self.last_check_step = int(self.history[-1]["step"])

    def take_train_loss(self) -> float:
        mean = self.loss_sum / self.loss_batches if self.loss_batches else float("nan")
        self.loss_sum, self.loss_batches = 0.0, 0
        return mean

    def elapsed(self) -> float:
        return self.elapsed_before + time.time() - self.started

    def cpu_seconds(self) -> float:
        return self.cpu_before + time.process_time() - self.cpu_started

    # ---- hooks -------------------------------------------------------------------------------------------
    def on_train_epoch_start(self, trainer, pl_module) -> None:
        # the epoch's shuffled order (Lightning only sets epochs on samplers it knows; the iterator reads this
        # lazily, after this hook). Not called when a run resumes mid-epoch: load_state_dict set it then.
        self.batch_sampler.set_epoch(trainer.current_epoch)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if loss is not None:
            self.loss_sum += float(loss.detach())
            self.loss_batches += 1
        n_batches = trainer.num_training_batches
        self.epoch = trainer.current_epoch
        self.batches_done = batch_idx + 1
        epoch_end = self.batches_done >= n_batches
        nth = self.batches_done % self.config.check_every_nth_batch == 0
        step = self.step = trainer.global_step
        out_of_steps = self.config.max_steps is not None and step >= self.config.max_steps
        out_of_time = self.config.max_time is not None and time.time() - self.started >= self.config.max_time
        checked = False
        if epoch_end or nth or out_of_steps or out_of_time:
            # a budget's end is a check too: the last weights may be the best
            self.check(trainer, pl_module, None if epoch_end else batch_idx)
            checked = True
            if epoch_end and self.epoch + 1 >= trainer.max_epochs and not self.finished:
                self.finished = "epochs"
            if out_of_steps and not self.finished:
                self.finished = "steps"
                trainer.should_stop = True
            elif out_of_time and not self.finished:
                self.stopped_by_time = True
                trainer.should_stop = True
                print(f"--max-time reached after {time.time() - self.started:.0f} s; the run goes on when the "
                      "same command runs again", file=sys.stderr, flush=True)
        if checked or step % self.config.checkpoint_every_nth_batch == 0:
            self.save_checkpoint(trainer)
        kill_at = os.environ.get(FAULT_KILL_ENV)
        if kill_at and step == int(kill_at):
            sys.stdout.flush()
            os.kill(os.getpid(), signal.SIGKILL)

    def check(self, trainer, pl_module, batch_idx: int | None) -> None:
        metrics = pl_module.evaluate(self.val_loader)
        if trainer.world_size > 1:
            summed = trainer.strategy.reduce(metrics_to_tensor(metrics).to(pl_module.device), reduce_op="sum")
            metrics = metrics_from_tensor(summed, bool(summed[-1].item()))
        genes = None
        if self.gene_check is not None:
            genes = self.gene_check(pl_module.model)
            score = genes[self.config.select_by.replace("-", "_")]
        else:
            score = basewise_score(metrics, self.config.select_by)
        self.score = score
        f1 = metrics.genic_f1
        # upstream's best starts at 0 and needs a strictly better F1; we also keep the first check's model so a
        # run always leaves a model behind (upstream saves nothing when F1 stays 0)
        improved = score > self.best_score or not self.best_saved
        if improved:
            self.best_score = max(score, self.best_score)
            self.checks_without_improvement = 0
            self.best_saved = True
            if trainer.is_global_zero:
                self.save_model(pl_module.model, Path(self.config.save_model_path), trainer, f1, batch_idx)
        else:
            self.checks_without_improvement += 1
            if self.checks_without_improvement >= self.config.patience:
                trainer.should_stop = True
                self.finished = "patience"
        if self.config.save_every_check and trainer.is_global_zero:
            label = "epoch_end" if batch_idx is None else f"b{batch_idx:06d}"
            self.save_model(pl_module.model, self.run_dir / "checks" / f"model_e{self.epoch}_{label}.safetensors",
                            trainer, f1, batch_idx)
        row = self._row(trainer, pl_module, metrics, improved)
        row.update(select_by=self.config.select_by, score=score, best_score=self.best_score)
        if genes is not None:
            row.update(cds_exon_f1=genes["cds_exon_f1"], gene_f1=genes["gene_f1"], predicted_genes=genes["genes"],
                       gene_check_s=genes["seconds"])
        self.history.append(row)
        self.last_check_step = trainer.global_step
        if trainer.is_global_zero:
            self.report(metrics, row)

    def _row(self, trainer, pl_module, metrics, improved) -> dict:
        genic = metrics.genic.scores()
        row = {"check": len(self.history) + 1, "epoch": self.epoch, "batch": self.batches_done,
               "step": trainer.global_step, "time_s": round(self.elapsed(), 3),
               "cpu_s": round(self.cpu_seconds(), 1),
               "train_loss": self.take_train_loss(),
               "genic_precision": genic["genic"]["precision"], "genic_recall": genic["genic"]["recall"],
               "genic_f1": genic["genic"]["f1"], "sub_genic_f1": genic["sub_genic"]["f1"],
               "legacy_cds_f1": genic["legacy_cds"]["f1"], "ig_f1": genic["ig"]["f1"], "utr_f1": genic["utr"]["f1"],
               "exon_f1": genic["exon"]["f1"], "intron_f1": genic["intron"]["f1"],
               "accuracy": metrics.genic.accuracy(), "improved": int(improved),
               "checks_without_improvement": self.checks_without_improvement}
        if metrics.has_phase:
            phase = metrics.phase.scores()
            row.update(phase_f1=metrics.phase_f1, phase_0_f1=phase["phase_0"]["f1"],
                       phase_1_f1=phase["phase_1"]["f1"], phase_2_f1=phase["phase_2"]["f1"],
                       no_phase_f1=phase["no_phase"]["f1"])
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}

    # ---- outputs -------------------------------------------------------------------------------------
    def save_model(self, model, path: Path, trainer, f1: float, batch_idx) -> None:
        metadata = dict(self.model_metadata)
        provenance = dict(metadata.get("provenance", {}))
        provenance["training"] = {"epoch": self.epoch, "batch": self.batches_done, "step": trainer.global_step,
                                  "validation_genic_f1": f1, "check": len(self.history) + 1,
                                  "selected_by": self.config.select_by, "validation_score": self.score}
        metadata["provenance"] = provenance
        model_file.save_model(path, model, metadata)

    def save_checkpoint(self, trainer) -> None:
        """Write last.ckpt atomically (temporary name, then rename), from every process as Lightning needs."""
        tmp = self.checkpoint_path.with_name(".last.ckpt.partial")
        trainer.save_checkpoint(tmp, weights_only=False)  # the full state: optimizer, loops, callbacks
        if trainer.is_global_zero:
            os.replace(tmp, self.checkpoint_path)
        trainer.strategy.barrier("helixtune_checkpoint")

    def report(self, metrics, row) -> None:
        if self.verbose:
            print(f"\ncheck {row['check']} (epoch {row['epoch']}, batch {row['batch']}, step {row['step']})",
                  flush=True)
            print(metrics.format_tables(), flush=True)
        mark = "new best, saved" if row["improved"] else f"no improvement ({row['checks_without_improvement']}/" \
                                                          f"{self.config.patience})"
        loss = row["train_loss"]
        loss_text = "n/a" if loss is None else f"{loss:.4f}"
        print(f"check {row['check']}: epoch {row['epoch']} batch {row['batch']} step {row['step']}: "
              f"train loss {loss_text}, validation genic F1 {row['genic_f1']:.4f}"
              + ("" if row["select_by"] == "genic-f1" else f", {row['select_by']} {row['score']:.4f}")
              + (f" ({row['predicted_genes']} genes, check {row['gene_check_s']:.0f} s)" if "gene_f1" in row else "")
              + f" (best {row['best_score']:.4f}): {mark}", file=sys.stderr, flush=True)  # progress: stderr
        write_history_csv(self.history, self.csv_path)
        try:
            plot_learning_curves(self.history, self.png_path)
        except Exception as err:  # a plot must never stop a training run
            print(f"warning: could not draw {self.png_path}: {err}", file=sys.stderr)
        _tensorboard_log(self.run_dir / "tensorboard", row)


def write_history_csv(history: list[dict], path: Path) -> None:
    from helixtune.atomic import atomic_output

    with atomic_output(path) as tmp:
        with open(tmp, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            for row in history:
                writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in CSV_COLUMNS})


def plot_learning_curves(history: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from helixtune.atomic import atomic_output

    steps = [r["step"] for r in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    losses = [(s, r["train_loss"]) for s, r in zip(steps, history) if r.get("train_loss") is not None]
    if losses:
        ax1.plot(*zip(*losses), marker="o")
    ax1.set_xlabel("optimizer step")
    ax1.set_ylabel("training loss (mean since previous check)")
    ax1.set_title("training loss")
    for key, label in (("genic_f1", "genic F1"), ("sub_genic_f1", "sub-genic F1"), ("phase_f1", "phase F1")):
        points = [(s, r[key]) for s, r in zip(steps, history) if r.get(key) is not None]
        if points:
            ax2.plot(*zip(*points), marker="o", label=label)
    ax2.set_xlabel("optimizer step")
    ax2.set_ylabel("validation score")
    ax2.set_ylim(0, 1)
    ax2.set_title("validation (base-wise)")
    ax2.legend(loc="best")
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


_TB_WRITERS = {}


def _tensorboard_log(directory: Path, row: dict) -> None:
    """Scalars to TensorBoard when the `tensorboard` package is installed (optional)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except Exception:
        return
    writer = _TB_WRITERS.get(directory)
    if writer is None:
        writer = _TB_WRITERS[directory] = SummaryWriter(str(directory))
    for key in ("train_loss", "genic_f1", "sub_genic_f1", "phase_f1", "accuracy"):
        if row.get(key) is not None:
            writer.add_scalar(key, row[key], row["step"])
    writer.flush()


def _rng_state() -> dict:
    import random

    import numpy as np

    # plain containers only, so the checkpoint loads with torch.load(weights_only=True)
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_py = random.getstate()
    return {"torch": torch.get_rng_state(), "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(gauss)],
            "python": [version, list(internal), gauss_py]}


def _set_rng_state(state: dict) -> None:
    import random

    import numpy as np

    torch.set_rng_state(state["torch"])
    name, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_py = state["python"]
    random.setstate((version, tuple(internal), gauss_py))


def read_checkpoint_state(path) -> dict | None:
    """The CheckCallback state stored in a checkpoint (None when there is none)."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    for key, value in (ckpt.get("callbacks") or {}).items():
        if str(key).startswith("CheckCallback"):
            return value
    return None


def describe_history(history: list[dict]) -> str:
    return json.dumps(history[-1]) if history else "{}"
