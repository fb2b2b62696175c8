"""Base-wise metrics against upstream Helixer's own numbers and printed tables.

References: the validation confusion matrices and scores that upstream's Metrics computed for four
models (tests/data/evaluate/upstream_validation_metrics.json) and upstream's console logs (training
checks and `--eval` runs), whose tables must be reproduced character for character.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

from sharedpaths import SHARED_DATA, shared_file
from helixtune.evaluate.basewise import (
    BasewiseMetrics,
    ConfusionMatrix,
    genic_confusion_matrix,
    phase_confusion_matrix,
    pooled_mask,
    precision_recall_f1,
)


@pytest.fixture(scope="module")
def upstream_metrics(test_data):
    return json.loads((test_data / "evaluate" / "upstream_validation_metrics.json").read_text())


def test_scores_equal_upstream_for_every_model(upstream_metrics):
    for model, entry in upstream_metrics.items():
        for key, factory in (("genic_base_wise", genic_confusion_matrix), ("phase_base_wise", phase_confusion_matrix)):
            reference = entry[key]
            cm = factory(reference["confusion_matrix_ref_rows_pred_cols"])
            scores = cm.scores()
            assert set(scores) == set(reference["scores"]), (model, key)
            for name, expected in reference["scores"].items():
                for field, value in expected.items():
                    assert scores[name][field] == pytest.approx(value, rel=1e-12, abs=1e-15), (model, key, name, field)
            if "total_accuracy" in reference:
                assert cm.accuracy() == pytest.approx(reference["total_accuracy"], rel=1e-12)


def test_genic_f1_of_small_default_matches_upstream_to_the_last_digit(upstream_metrics):
    entry = upstream_metrics["small_default.h5"]["genic_base_wise"]
    metrics = BasewiseMetrics(genic_cm=entry["confusion_matrix_ref_rows_pred_cols"])
    assert metrics.genic_f1 == 0.44453337082661876
    assert entry["scores"]["genic"]["f1"] == metrics.genic_f1


def test_zero_denominator_rules():
    assert precision_recall_f1(0, 0, 0) == (0.0, 0.0, 0.0)
    assert precision_recall_f1(0, 5, 0) == (0.0, 0.0, 0.0)
    assert precision_recall_f1(3, 0, 1) == (1.0, 0.75, pytest.approx(2 * 0.75 / 1.75))
    empty = genic_confusion_matrix()
    assert empty.scores()["genic"] == {"TP": 0, "FP": 0, "FN": 0, "precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert math.isnan(empty.accuracy())
    assert empty.to_dict()["total_accuracy"] is None


def test_update_forms_agree_and_mask_by_timestep():
    rng = np.random.default_rng(0)
    batch, length, pool = 3, 45, 9
    reference = rng.integers(0, 4, size=(batch, length))
    probabilities = rng.random((batch, length, 4)).astype(np.float32)
    one_hot = np.eye(4, dtype=np.int8)[reference]
    sample_weights = np.ones((batch, length), dtype=np.int8)
    sample_weights[0, 10] = 0            # masks the whole timestep 9..17 of chunk 0
    sample_weights[2, 40:] = 0           # padding: the last timestep of chunk 2
    mask = pooled_mask(sample_weights, pool)
    assert mask[0, 9:18].sum() == 0 and mask[0, :9].all() and mask[0, 18:].all()
    assert not mask[2, 36:].any() and mask[2, :36].all()

    by_probs = genic_confusion_matrix()
    by_probs.update(one_hot, probabilities, mask)
    by_indices = genic_confusion_matrix()
    by_indices.update(reference, probabilities.argmax(-1), mask)
    by_timesteps = genic_confusion_matrix()  # upstream's shapes: (B, T, P, C) with a (B, T) mask
    step_mask = mask.reshape(batch, -1, pool).all(-1)
    by_timesteps.update(one_hot.reshape(batch, -1, pool, 4), probabilities.reshape(batch, -1, pool, 4), step_mask)
    expected = np.zeros((4, 4), dtype=np.uint64)
    for r, p in zip(reference[mask], probabilities.argmax(-1)[mask]):
        expected[r, p] += 1
    for cm in (by_probs, by_indices, by_timesteps):
        assert cm.cm.dtype == np.uint64
        np.testing.assert_array_equal(cm.cm, expected)
    assert by_probs.total == batch * length - 9 - 9


def test_pooled_mask_clips_the_tail_that_upstream_drops():
    mask = pooled_mask(np.ones((1, 20), dtype=np.int8), 9)
    assert mask[0, :18].all() and not mask[0, 18:].any()


def test_accumulation_and_merge():
    a, b = genic_confusion_matrix(), genic_confusion_matrix()
    a.update(np.array([0, 1, 2, 3]), np.array([0, 1, 2, 2]))
    b.update(np.array([3, 3]), np.array([3, 0]))
    a.merge(b)
    assert a.cm[3].tolist() == [1, 0, 1, 1]
    scores = a.scores()
    assert scores["intron"] == {"TP": 1, "FP": 0, "FN": 2, "precision": 1.0, "recall": 1 / 3, "f1": 0.5}
    assert scores["legacy_cds"]["TP"] == 3 and scores["legacy_cds"]["FN"] == 1
    with pytest.raises(ValueError):
        a.update(np.array([0, 4]), np.array([0, 0]))


# ---- upstream's printed tables ----------------------------------------------------------------------

_PREFIX = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d, \w: ")


def _log_blocks(text: str):
    """(tables text, total-accuracy line, genic f1 saved after it or None) for every metrics printout."""
    lines = [_PREFIX.sub("", line) for line in text.splitlines()]
    i = 0
    while i < len(lines):
        if lines[i].startswith("+confusion_matrix"):
            tables = []
            while len(tables) < 3:
                while not lines[i].startswith("+"):
                    i += 1
                start = i
                while i < len(lines) and lines[i][:1] in ("+", "|"):
                    i += 1
                tables.append("\n".join(lines[start:i]))
            while not lines[i].startswith("Total acc:"):
                i += 1
            total = lines[i]
            saved = None
            for later in lines[i + 1:i + 4]:
                found = re.search(r"saved new best model with genic f1 of (\S+)", later)
                if found:
                    saved = found.group(1)
            yield "\n\n".join(tables) + "\n" + total, saved
        i += 1


def _matrix_from_table(table: str) -> ConfusionMatrix:
    rows = [line for line in table.splitlines()[3:] if line.startswith("|")]
    names = [cell.strip()[:-len("_ref")] for cell in (row.split("|")[1] for row in rows)]
    counts = [[int(c) for c in row.split("|")[2:-1]] for row in rows]
    if names[0] == "ig":
        return genic_confusion_matrix(counts)
    return phase_confusion_matrix(counts)


def _upstream_logs(test_data):
    logs = sorted((test_data / "evaluate" / "upstream_logs").glob("*.log"))
    if SHARED_DATA is not None:
        logs += sorted((SHARED_DATA / "reference_models" / "logs").glob("*.log"))
    return logs


def test_tables_reproduce_upstream_logs_character_for_character(test_data):
    n_checked = n_f1 = 0
    for log in _upstream_logs(test_data):
        genic = None
        for printed, saved_f1 in _log_blocks(log.read_text()):
            cm = _matrix_from_table(printed.split("\n\n")[0])
            assert cm.format_tables() == printed, log.name
            if cm.class_names[0] == "ig":
                genic = cm
            if saved_f1 is not None:  # printed after the phase tables of the same check
                assert repr(BasewiseMetrics(genic_cm=genic.cm).genic_f1) == saved_f1, log.name
                n_f1 += 1
            n_checked += 1
    assert n_checked >= 21 and n_f1 >= 1


# ---- from upstream prediction files -----------------------------------------------------------------

@pytest.mark.shared
@pytest.mark.parametrize("model, rows", [("small_default", slice(20, 28)), ("released_size", slice(20, 28)),
                                         ("small_default_ft", slice(0, 8)), ("small_default_ft_hidden", slice(0, 8))])
def test_matrices_from_upstream_prediction_files(upstream_metrics, model, rows):
    """The stored predictions are float16 casts of the outputs upstream scored in float32, so the
    argmax is certain wherever the float16 maximum is unique (rounding is monotone). There our counts
    must agree exactly; each tied base must be counted by upstream under one of its tied classes."""
    h5py = pytest.importorskip("h5py")
    from helixtune.h5layout import rotate_minus_padding_first

    validation = shared_file("reference_models/data/micromonas_split/validation_data.h5")
    predictions = shared_file(f"reference_models/{model}.predictions.h5")
    with h5py.File(validation) as val, h5py.File(predictions) as pred:
        start_ends = val["data/start_ends"][:]
        # upstream's generator rotates padded minus chunks padding-first; its predictions are stored so
        y = rotate_minus_padding_first(val["data/y"][:], start_ends)
        phases = rotate_minus_padding_first(val["data/phases"][:], start_ends)
        mask = pooled_mask(rotate_minus_padding_first(val["data/sample_weights"][:], start_ends), 9)
        outputs = {"genic_base_wise": (y, pred["predictions"][rows]),
                   "phase_base_wise": (phases, pred["predictions_phase"][rows])}
    for key, (reference, probabilities) in outputs.items():
        expected = np.array(upstream_metrics[f"{model}.h5"][key]["confusion_matrix_ref_rows_pred_cols"])
        top = probabilities.max(-1, keepdims=True)
        tied_classes = probabilities == top
        tied = (tied_classes.sum(-1) > 1) & mask
        certain = ConfusionMatrix(("a", "b", "c", "d"))
        certain.update(reference, probabilities, mask & ~tied)
        possible = np.zeros((4, 4), dtype=np.int64)
        ref_index = reference.argmax(-1)
        for r, classes in zip(ref_index[tied], tied_classes[tied]):
            possible[r] += classes
        counted = certain.cm.astype(np.int64)
        assert (counted <= expected).all() and (expected <= counted + possible).all(), key
        assert expected.sum() == counted.sum() + tied.sum(), key
        np.testing.assert_array_equal(expected.sum(1), counted.sum(1) + np.bincount(ref_index[tied], minlength=4))
