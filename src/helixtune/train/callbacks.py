"""Upstream's training checks on Lightning's training loop, with exact resume.

A *check* computes the base-wise metrics on the whole validation set with the current weights
(docs/training.md, "Checks, best model, early stopping"). Checks happen after every `check_every_nth_batch`-th
batch of an epoch and at the end of every epoch (once when both coincide), and when a budget (`--max-time`,
`--max-steps`) runs out: the last weights may be the best. `TrainingChecks` is the one Lightning callback that
schedules them; each job is a piece of its own:

- `ValidationCheck` (validation_check.py): the metrics over the validation set, summed over processes, and the
  selection score (base-wise, or from decoded gene models);
- `Selection`, `ModelWriter` (selection.py): best score, patience and early stopping; the best model file (and
  every check's with `--save-every-check`);
- `ResumePoint` (resume_point.py): `last.ckpt`, written atomically at every check and every
  `checkpoint_every_nth_batch` steps, with the options beside it (`config.toml`); the sampler position and the
  random state restored on resume;
- `MetricWriter` (metric_log.py): one row per check: metrics.csv, learning_curves.png, TensorBoard, the
  progress line.

Why not Lightning's validation loop, `ModelCheckpoint`, `EarlyStopping` and `CSVLogger` (Lightning 2.6):
- The schedule. Lightning's `val_check_interval=N` validates after every N-th batch but then not at an epoch
  end that N does not divide; upstream checks at both. `max_steps` and `max_time` stop without validating,
  where a budget's end is a check here; and Lightning's `Timer` keeps its elapsed time in the checkpoint and
  counts the whole run, where `--max-time` bounds one invocation of a run that goes on in several.
- The selection. The best model is a helixtune model file (safetensors and metadata naming the check), not a
  Lightning checkpoint, and `--select-by cds-exon-f1 / gene-f1` scores a check by decoding gene models with the
  HMM decoder, which is not a per-batch `validation_step` metric. `EarlyStopping` would have to mirror the
  selection's counter anyway, because patience and "best so far" must survive a resume together.
- Exact resume. The batch order is our `EpochBatchSampler`, which Lightning does not know; the checkpoint
  must carry its position and the random state, and both must be restored before the first batch.
- The log. metrics.csv is rewritten from the checks stored in the checkpoint, so after a kill and resume
  it holds exactly the checks of the state that went on; `CSVLogger` appends, and would repeat the checks
  made between the last checkpoint and the kill.
- Existing runs. A checkpoint keeps this state under the key `CheckCallback` (`resume_point.STATE_KEY`),
  in the flat form runs have written since the first; long runs committed with their `last.ckpt` resume.

What Lightning does run: the training loop itself (optimizer steps, precision, DDP, gradient clipping through
the optimizer, the progress bar), saving and restoring the module, optimizer and loop state, and stopping
(`trainer.should_stop`).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import lightning.pytorch as pl

from helixtune.train.metric_log import MetricWriter
from helixtune.train.resume_point import STATE_KEY, ResumePoint, read_checkpoint_state, rng_state, set_rng_state
from helixtune.train.selection import ModelWriter, Selection
from helixtune.train.validation_check import ValidationCheck

__all__ = ["TrainingChecks", "RunClock", "read_checkpoint_state", "STATE_KEY"]


class RunClock:
    """Wall time and CPU seconds (all threads) of the whole run, over every invocation; and of this one."""

    def __init__(self):
        self.started = time.time()
        self.elapsed_before = 0.0
        self.cpu_started = time.process_time()
        self.cpu_before = 0.0

    def elapsed(self) -> float:
        return self.elapsed_before + time.time() - self.started

    def cpu_seconds(self) -> float:
        return self.cpu_before + time.process_time() - self.cpu_started

    def this_invocation(self) -> float:
        return time.time() - self.started

    def load(self, elapsed: float, cpu: float) -> None:
        self.elapsed_before, self.cpu_before = elapsed, cpu
        self.started, self.cpu_started = time.time(), time.process_time()


class TrainingChecks(pl.Callback):
    """When to check, checkpoint and stop; the run's state in the checkpoint (see the module's docstring)."""

    def __init__(self, config, val_loader, batch_sampler, run_dir: Path, model_metadata: dict,
                 verbose: bool = True, gene_check=None):
        self.config = config
        self.identity = config.identity()  # once: it hashes the pretrained model; every checkpoint records it
        self.run_dir = Path(run_dir)
        self.batch_sampler = batch_sampler
        self.validation = ValidationCheck(val_loader, config.select_by, gene_check)
        self.selection = Selection(config.select_by, config.patience)
        self.models = ModelWriter(model_metadata)
        self.resume = ResumePoint(self.run_dir, batch_sampler, config)
        self.metrics = MetricWriter(self.run_dir, config.patience, verbose)
        self.clock = RunClock()
        self.epoch = 0
        self.batches_done = 0  # in the current epoch
        self.step = 0  # optimizer steps of the run so far
        self.finished: str | None = None  # epochs | patience | steps: the run is complete
        self.stopped_by_time = False  # --max-time ended this invocation; the run itself goes on next time

    @property
    def state_key(self) -> str:
        return STATE_KEY

    @property
    def best_score(self) -> float:
        return self.selection.best_score

    @property
    def history(self) -> list[dict]:
        return self.metrics.history

    # ---- the run's state in last.ckpt (one flat dict, as checkpoints have always held it) ------------------
    def state_dict(self) -> dict:
        return {**self.selection.state_dict(), "history": self.metrics.history,
                "epoch": self.epoch, "batches_done": self.batches_done, "batches_per_epoch": len(self.batch_sampler),
                "finished": self.finished, "step": self.step, "elapsed": self.clock.elapsed(),
                "cpu": self.clock.cpu_seconds(), "identity": self.identity,
                "loss_sum": self.metrics.loss_sum, "loss_batches": self.metrics.loss_batches,
                "rng": rng_state()}

    def load_state_dict(self, state: dict) -> None:
        self.selection.load_state_dict(state)
        self.metrics.load_state_dict(state)
        self.epoch = int(state["epoch"])
        self.batches_done = int(state["batches_done"])
        self.step = int(state.get("step", 0))
        self.clock.load(float(state.get("elapsed", 0.0)), float(state.get("cpu", 0.0)))
        self.finished = None  # the caller decided to go on
        self.resume.restore(self.epoch, self.batches_done, int(state["batches_per_epoch"]))
        if state.get("rng"):
            set_rng_state(state["rng"])

    # ---- hooks -------------------------------------------------------------------------------------------
    def on_train_start(self, trainer, pl_module) -> None:
        # a fresh tuning run first scores the model it starts from: when no later check beats it, that is
        # what the run keeps, so tuning never hands back a model worse on the validation data than its start
        if self.config.checks_starting_model() and not self.metrics.history:
            self.check(trainer, pl_module, None, start=True)

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.resume.start_epoch(trainer.current_epoch)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.metrics.add_loss(outputs["loss"] if isinstance(outputs, dict) else outputs)
        self.epoch = trainer.current_epoch
        self.batches_done = batch_idx + 1
        epoch_end = self.batches_done >= trainer.num_training_batches
        nth = self.batches_done % self.config.check_every_nth_batch == 0
        step = self.step = trainer.global_step
        out_of_steps = self.config.max_steps is not None and step >= self.config.max_steps
        out_of_time = self.config.max_time is not None and self.clock.this_invocation() >= self.config.max_time
        checked = epoch_end or nth or out_of_steps or out_of_time
        if checked:
            self.check(trainer, pl_module, None if epoch_end else batch_idx)
            if epoch_end and self.epoch + 1 >= trainer.max_epochs and not self.finished:
                self.finished = "epochs"
            if out_of_steps and not self.finished:
                self.finished = "steps"
                trainer.should_stop = True
            elif out_of_time and not self.finished:
                self.stopped_by_time = True
                trainer.should_stop = True
                print(f"--max-time reached after {self.clock.this_invocation():.0f} s; the run goes on when the "
                      "same command runs again", file=sys.stderr, flush=True)
        if checked or step % self.config.checkpoint_every_nth_batch == 0:
            self.resume.save(trainer)

    def check(self, trainer, pl_module, batch_idx: int | None, start: bool = False) -> None:
        """One check: score the weights, keep the model if it is the best, stop when out of patience, record.
        `start`: the check of the starting model, before any step."""
        result = self.validation(trainer, pl_module)
        improved = self.selection.update(result.score, result.tie_break)
        if not improved and self.selection.out_of_patience:
            trainer.should_stop = True
            self.finished = "patience"
        training = {"epoch": self.epoch, "batch": self.batches_done, "step": trainer.global_step,
                    "validation_genic_f1": result.metrics.genic_f1, "check": self.metrics.next_check,
                    "selected_by": self.config.select_by, "validation_score": result.score}
        if trainer.is_global_zero:
            if improved:
                self.models.write(Path(self.config.save_model_path), pl_module.model, training)
            if self.config.save_every_check:
                label = "start" if start else "epoch_end" if batch_idx is None else f"b{batch_idx:06d}"
                self.models.write(self.run_dir / "checks" / f"model_e{self.epoch}_{label}.safetensors",
                                  pl_module.model, training)
        where = {"epoch": self.epoch, "batch": self.batches_done, "step": trainer.global_step,
                 "time_s": round(self.clock.elapsed(), 3), "cpu_s": round(self.clock.cpu_seconds(), 1)}
        row = self.metrics.add_check(where, result, self.selection, improved)
        if trainer.is_global_zero:
            self.metrics.report(result.metrics, row)
