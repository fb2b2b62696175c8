"""Option handling: upstream's flags map onto the fine-tune modes; bad values are one-line errors."""

from __future__ import annotations

import argparse

import pytest

from helixtune.cli.train import _number_list
from helixtune.errors import HelixtuneError
from helixtune.train import TrainConfig


@pytest.mark.parametrize("flags,mode", [
    ({}, "scratch"),
    ({"load_model_path": "m.h5"}, "whole"),
    ({"load_model_path": "m.h5", "resume_training": True}, "whole"),
    ({"load_model_path": "m.h5", "fine_tune": True}, "head"),
    ({"load_model_path": "m.h5", "fine_tune": True, "post_coverage_hidden_layer": True}, "head+hidden"),
    ({"load_model_path": "m.h5", "fine_tune": True, "post_coverage_hidden_layer": True,
      "upstream_fine_tune": True}, "head"),  # upstream ignores the hidden layer without coverage
    ({"load_model_path": "m.h5", "fine_tune": True, "input_coverage": True}, "coverage"),
    ({"load_model_path": "m.h5", "fine_tune": True, "fine_tune_mode": "whole"}, "whole"),
])
def test_upstream_flags_select_the_mode(flags, mode):
    assert TrainConfig(data_dir="d", **flags).resolved_mode() == mode


def test_coverage_mode_implies_coverage_input():
    assert TrainConfig(data_dir="d", load_model_path="m", fine_tune_mode="coverage").input_coverage


@pytest.mark.parametrize("flags,message", [
    ({"fine_tune_mode": "head"}, "--load-model-path"),
    ({"fine_tune_mode": "partial"}, "--fine-tune-mode"),
    ({"coverage_norm": "sqrt"}, "--coverage-norm"),
    ({"class_weights": [1.0, 2.0]}, "4 numbers"),
    ({"transition_weights": [1.0]}, "6 numbers"),
    ({"batch_size": 0}, "--batch-size"),
    ({"learning_rate": 0.0}, "--learning-rate"),
    ({"utr_reach": -1}, "--utr-reach"),
])
def test_bad_options(flags, message):
    with pytest.raises(HelixtuneError, match=message):
        TrainConfig(data_dir="d", **flags)


def test_weight_lists_in_upstream_and_short_form():
    assert _number_list("[0.7, 1.6, 1.2, 1.2]") == [0.7, 1.6, 1.2, 1.2]
    assert _number_list("1,12,3,1,12,3") == [1.0, 12.0, 3.0, 1.0, 12.0, 3.0]
    assert _number_list("None") is None
    with pytest.raises(argparse.ArgumentTypeError):
        _number_list("['a']")


def test_run_identity_ignores_options_that_may_change_on_resume():
    a = TrainConfig(data_dir="d", epochs=5, patience=2).identity()
    b = TrainConfig(data_dir="d", epochs=50, patience=9, check_every_nth_batch=7).identity()
    assert a == b
    assert a != TrainConfig(data_dir="d", batch_size=16).identity()


def test_balanced_sampling_is_part_of_a_run_but_old_runs_resume_without_it():
    """What an epoch draws defines the run, so --balance-training-files cannot change on resume; unset it
    leaves the identity as it was before the option existed, so older checkpoints still resume."""
    plain = TrainConfig(data_dir="d").identity()
    assert "balance_training_files" not in plain
    balanced = TrainConfig(data_dir="d", balance_training_files=True).identity()
    assert balanced != plain and balanced["balance_training_files"] is True
    assert TrainConfig(data_dir="d", gene_check_average="per-file").identity() == plain  # selection may change
