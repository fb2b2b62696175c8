"""The pieces of the training checks: selection and patience, the run's state in last.ckpt, older checkpoints."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from sharedpaths import REPOSITORY
from helixtune.train import TrainConfig
from helixtune.train.callbacks import TrainingChecks
from helixtune.train.data import EpochBatchSampler
from helixtune.train.resume_point import STATE_KEY, read_checkpoint_state
from helixtune.train.selection import Selection

# a long base-model run's resume point, committed to be continued (its format must keep loading)
COMMITTED_CHECKPOINT = REPOSITORY / "experiments" / "base_model" / "small" / "run" / "last.ckpt"
STATE_KEYS = {"best_score", "select_by", "best_saved", "checks_without_improvement", "best_tie_break", "history",
              "epoch", "batches_done", "batches_per_epoch", "finished", "step", "elapsed", "cpu", "identity",
              "loss_sum", "loss_batches", "rng"}


def test_selection_keeps_the_first_check_then_only_strictly_better_ones_and_counts_patience():
    selection = Selection("genic-f1", patience=2)
    assert [selection.update(s) for s in (0.0, 0.5, 0.5, 0.6, 0.4)] == [True, True, False, True, False]
    assert (selection.best_score, selection.checks_without_improvement) == (0.6, 1)
    assert not selection.out_of_patience
    selection.update(0.6)
    assert selection.out_of_patience


def test_a_gene_level_tie_goes_to_the_check_with_the_better_basewise_genic_f1():
    """Seven validation genes give few distinct gene F1 values: a later check that ties the best one is kept when
    its base-wise genic F1 is higher (the bundled example's run: its checks all scored 0.857)."""
    selection = Selection("gene-f1", patience=2)
    checks = [(0.857, 0.9906), (0.857, 0.9920), (0.857, 0.9900), (0.8, 0.999), (0.857, 0.9920)]
    assert [selection.update(*check) for check in checks] == [True, True, False, False, False]
    assert (selection.best_score, selection.best_tie_break) == (0.857, 0.9920) and selection.out_of_patience
    state = selection.state_dict()
    again = Selection("gene-f1", patience=2)
    again.load_state_dict(state)
    assert again.update(0.857, 0.9921) and again.best_tie_break == 0.9921
    plain = Selection("genic-f1", patience=2)  # no tie-breaker: a tie is no improvement, as upstream
    assert [plain.update(s) for s in (0.5, 0.5)] == [True, False]


def test_selection_state_from_another_metric_starts_a_new_best():
    selection = Selection("gene-f1", patience=3)
    selection.load_state_dict({"best_genic_f1": 0.8, "best_saved": True, "checks_without_improvement": 1})
    assert (selection.best_score, selection.best_saved, selection.checks_without_improvement) == (0.0, False, 1)
    selection = Selection("genic-f1", patience=3)
    selection.load_state_dict({"best_genic_f1": 0.8, "best_saved": True, "checks_without_improvement": 1})
    assert (selection.best_score, selection.best_saved) == (0.8, True)  # the oldest checkpoints' key


@pytest.fixture
def global_rng_kept():
    """Loading a run's state sets the global random state; give the other tests theirs back."""
    saved = torch.get_rng_state(), np.random.get_state(), random.getstate()
    yield
    torch.set_rng_state(saved[0])
    np.random.set_state(saved[1])
    random.setstate(saved[2])


def _checks(tmp_path, n_samples=16, batch_size=2, **options):
    sampler = EpochBatchSampler(n_samples, batch_size, shuffle=True, seed=0)
    config = TrainConfig(data_dir=str(tmp_path / "data"), batch_size=batch_size, **options)
    return TrainingChecks(config, val_loader=None, batch_sampler=sampler, run_dir=tmp_path / "run",
                          model_metadata={}), sampler


def test_the_run_state_keeps_its_key_and_flat_form(tmp_path, global_rng_kept):
    checks, sampler = _checks(tmp_path)
    assert checks.state_key == STATE_KEY == "CheckCallback"
    state = checks.state_dict()
    assert set(state) == STATE_KEYS
    state.update(epoch=2, batches_done=3, best_score=0.5, best_saved=True, checks_without_improvement=1,
                 history=[{"check": 1, "step": 19}], elapsed=10.0, cpu=20.0, loss_sum=1.5, loss_batches=3)
    again, sampler = _checks(tmp_path)
    again.load_state_dict(state)
    assert (sampler.epoch, sampler.skip_batches) == (2, 3)  # the interrupted epoch, from its 4th batch
    assert (again.best_score, again.selection.checks_without_improvement, again.history) == (0.5, 1, state["history"])
    assert again.clock.elapsed() >= 10.0 and (again.metrics.loss_sum, again.metrics.loss_batches) == (1.5, 3)


@pytest.mark.skipif(not COMMITTED_CHECKPOINT.exists(), reason="no committed base-model checkpoint")
def test_the_committed_base_model_checkpoint_loads_into_the_checks(tmp_path, global_rng_kept):
    state = read_checkpoint_state(COMMITTED_CHECKPOINT)
    assert state is not None and set(state) <= STATE_KEYS | {"best_genic_f1"}
    checks, sampler = _checks(tmp_path, n_samples=8 * int(state["batches_per_epoch"]), batch_size=8,
                              select_by=state.get("select_by", "genic-f1"))
    checks.load_state_dict(state)
    assert checks.best_score == pytest.approx(float(state["best_score"]))
    assert checks.selection.checks_without_improvement == state["checks_without_improvement"]
    assert checks.history == list(state["history"]) and checks.epoch == state["epoch"]
    done, per_epoch = int(state["batches_done"]), int(state["batches_per_epoch"])
    assert (sampler.epoch, sampler.skip_batches) == ((state["epoch"] + 1, 0) if done >= per_epoch
                                                     else (state["epoch"], done))
    assert torch.equal(torch.get_rng_state(), state["rng"]["torch"])
    assert set(checks.state_dict()) == STATE_KEYS  # and it is written back in the same form
