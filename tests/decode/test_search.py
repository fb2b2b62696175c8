"""The compiled pieces: candidate-region scanning and the HMM search (DP and tie handling vs. upstream's replay)."""

from __future__ import annotations

import numpy as np
import pytest

from helixtune.decode import states as S
from helixtune.decode import windows
from helixtune.decode.hmm import SOLVED_BY_DP, SOLVED_BY_REPLAY, SOLVED_BY_TIE_CHECK, solve_region


def classes_from_genic(genic):
    """Class predictions whose genic probability (1 - intergenic) is `genic`, as float32."""
    genic = np.asarray(genic, np.float32)
    out = np.zeros((len(genic), 4), np.float32)
    out[:, 0] = np.float32(1.0) - genic
    out[:, 2] = genic
    return out


def test_base_scores_use_float32_and_saturate():
    classes = classes_from_genic([0.0, 0.5, 1.0])
    classes[2, 0] = np.float32(1.0004)  # float16 softmax output can exceed 1: score saturates at 0
    assert windows.base_scores(classes).tolist() == [0, 500000, 0]
    assert windows.threshold_int(0.1, 100) == 10_000_000
    assert windows.threshold_int(0.8, 100) == 80_000_000


def test_region_bounds_follow_upstream():
    genic = np.zeros(1000, np.float32)
    genic[300:400] = 1.0  # windows starting at 201..399 reach 10 % of W=100
    regions = windows.find_regions(classes_from_genic(genic), 100, 0.1, 0.8)
    # first window with >= 10 genic bases starts at 210; the first failing one at 391 -> end 391 + 99
    assert regions.tolist() == [[210, 490]]
    # the peak must be strictly greater than the peak threshold: 100 % genic windows are needed for 1.0
    assert windows.find_regions(classes_from_genic(genic), 100, 0.1, 1.0).tolist() == []
    # a run that reaches the stream end ends at the stream end
    tail = np.zeros(500, np.float32)
    tail[450:] = 1.0
    assert windows.find_regions(classes_from_genic(tail), 100, 0.1, 0.4).tolist() == [[360, 500]]
    # a stream shorter than a window has no windows at all
    assert windows.find_regions(classes_from_genic(np.ones(99, np.float32)), 100, 0.1, 0.1).tolist() == []


def test_scanning_block_by_block_equals_whole_stream():
    rng = np.random.default_rng(7)
    genic = np.clip(np.repeat(rng.random(400), 25) + rng.normal(0, 0.2, 10_000), 0, 1).astype(np.float32)
    scores = windows.base_scores(classes_from_genic(genic))
    edge, peak = windows.threshold_int(0.3, 50), windows.threshold_int(0.6, 50)
    whole = windows.find_regions(classes_from_genic(genic), 50, 0.3, 0.6).tolist()
    assert len(whole) > 5
    state = windows.new_scanner_state()
    pieces, carry, carry_base, position = [], np.zeros(0, np.int64), 0, 0
    for size in rng.integers(1, 700, 200):
        block = scores[position:position + size]
        position += len(block)
        buffer = np.concatenate([carry, block])
        found = np.empty((len(buffer) + 1, 2), np.int64)
        count = windows.scan(buffer, carry_base, position >= len(scores), 50, edge, peak, state, found)
        pieces += found[:count].tolist()
        keep = int(state[windows.P])
        carry, carry_base = buffer[keep - carry_base:], keep
        if position >= len(scores):
            break
    assert pieces == whole


def test_state_table_matches_the_specification():
    assert S.N_STATES == 73
    assert [S.state(n) for n in ("Intergenic", "UTR5", "Start0", "Start1", "Start2", "Coding0", "Coding1", "Coding2",
                                 "Stop0T", "Stop1TA", "Stop1TG", "Stop2", "UTR3")] == \
        [0, 1, 8, 15, 22, 23, 30, 37, 44, 51, 58, 65, 66]
    assert S.BASE_COUNT[S.dss("Coding0", S.GTAG)] == 49 and S.BASE_COUNT[S.dss("UTR3", S.ATAC)] == 29
    assert S.LABEL[S.state("Stop2")] == S.LABEL_CODING and S.LABEL[S.body("UTR5", S.GCAG)] == S.LABEL_INTRON


def random_region(rng, n, confident: bool, n_fraction=0.0):
    """A random genome stretch with planted-looking predictions: noisy softmax, or one-hot with N bases."""
    letters = rng.integers(0, 4, n)
    bases = np.eye(4, dtype=np.float32)[letters]
    if n_fraction:
        bases[rng.random(n) < n_fraction] = 0.25
    labels = np.repeat(rng.integers(0, 4, n // 40 + 1), 40)[:n]
    phase_labels = np.where(labels == 2, 1 + np.arange(n) % 3, 0)
    if confident:
        return bases, np.eye(4, dtype=np.float32)[labels], np.eye(4, dtype=np.float32)[phase_labels]

    def softmax(onehot):
        logits = 3.0 * onehot + rng.normal(0, 1.5, onehot.shape)
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float16).astype(np.float32)

    return bases, softmax(np.eye(4)[labels]), softmax(np.eye(4)[phase_labels])


@pytest.mark.parametrize("seed", range(6))
def test_fast_search_equals_upstream_replay(seed):
    """The DP (with its tie handling) returns exactly what upstream's best-first search returns."""
    rng = np.random.default_rng(seed)
    for confident, n_fraction in ((False, 0.0), (False, 0.03), (True, 0.02)):
        bases, classes, phases = random_region(rng, int(rng.integers(300, 3000)), confident, n_fraction)
        for model in (0, 1, 2):
            fast, how = solve_region(bases, classes, phases, model)
            replay, replayed = solve_region(bases, classes, phases, model, force_best_first=True)
            assert replayed == SOLVED_BY_REPLAY
            assert how in (SOLVED_BY_DP, SOLVED_BY_TIE_CHECK, SOLVED_BY_REPLAY)
            assert np.array_equal(fast, replay), (seed, confident, n_fraction, model, how)
            assert fast[0, 0] == 0 and fast[-1, 1] == len(bases) and (fast[1:, 0] == fast[:-1, 1]).all()


def test_each_way_of_settling_ties_is_used():
    """N bases make equal-cost paths: Coding0 vs Stop0T over an N carry the same labels (settled by the tie
    check); labels that break the gene grammar everywhere make equal-cost repairs that differ (replayed)."""
    rng = np.random.default_rng(3)
    noisy_with_n = {solve_region(*random_region(rng, 1500, False, 0.05))[1] for _ in range(4)}
    grammar_breaking = {solve_region(*random_region(rng, 1500, True, 0.05))[1] for _ in range(4)}
    assert SOLVED_BY_TIE_CHECK in noisy_with_n
    assert SOLVED_BY_REPLAY in grammar_breaking
