"""Candidate regions: maximal runs of sliding windows whose summed genic score reaches the edge threshold.

Upstream's arithmetic, reproduced exactly: each base scores `trunc(f32(1 - p_intergenic) * 1e6)` (an
integer, negatives saturate to 0); a window is W consecutive bases; edge and peak thresholds are
`trunc(threshold * 1e6 * W)` in float32. A run of windows with total >= edge becomes the region
[first window start, last window start + W) (or up to the stream end when the run reaches it) and is
kept when its largest window total is strictly greater than the peak threshold. Windows that do not fit
before the end of the stream are never evaluated.

The scanner works on a stream fed block by block, so a whole chromosome never has to be in memory.
"""

from __future__ import annotations

import numba
import numpy as np

SCALE = np.float32(1_000_000.0)

# fields of the scanner state array
P, TOTAL_VALID, TOTAL, IN_RUN, RUN_START, PEAK = range(6)


def base_scores(classes: np.ndarray) -> np.ndarray:
    """(n, 4) float32 class predictions -> (n,) int64 per-base genic scores (upstream's float32 arithmetic)."""
    scaled = (np.float32(1.0) - classes[:, 0].astype(np.float32)) * SCALE
    return np.where(scaled >= np.float32(1.0), scaled, np.float32(0.0)).astype(np.int64)


def threshold_int(threshold: float, window_size: int) -> int:
    """Upstream's integer threshold: f32(f32(threshold * 1e6) * W), truncated."""
    value = np.float32(np.float32(threshold) * SCALE) * np.float32(window_size)
    return int(value) if value > 0 else 0


def new_scanner_state() -> np.ndarray:
    return np.zeros(6, np.int64)


@numba.njit(cache=True, nogil=True)
def scan(scores, base, final, window, edge, peak_threshold, state, regions):
    """Advance the scanner over scores of stream positions [base, base + len(scores)).

    `scores` must start at or before the scanner's next window start (`state[P]`). `final` marks the end of
    the stream. Accepted regions are written to `regions` ((k, 2) int64, large enough for len(scores) + 1
    entries); the number written is returned.
    """
    known_end = base + scores.shape[0]
    p = state[P]
    total_valid = state[TOTAL_VALID]
    total = state[TOTAL]
    in_run = state[IN_RUN]
    run_start = state[RUN_START]
    peak = state[PEAK]
    count = 0
    while p + window <= known_end:
        if total_valid == 0:
            total = 0
            for i in range(p - base, p - base + window):
                total += scores[i]
            total_valid = 1
        if total >= edge:
            if in_run == 0:
                in_run = 1
                run_start = p
                peak = 0
            if total > peak:
                peak = total
        elif in_run == 1:
            if peak > peak_threshold:
                regions[count, 0] = run_start
                regions[count, 1] = p + window - 1
                count += 1
            in_run = 0
        if p + window < known_end:
            total = total - scores[p - base] + scores[p + window - base]
        else:
            total_valid = 0
        p += 1
    if final and in_run == 1:
        if peak > peak_threshold:
            regions[count, 0] = run_start
            regions[count, 1] = known_end
            count += 1
        in_run = 0
    state[P] = p
    state[TOTAL_VALID] = total_valid
    state[TOTAL] = total
    state[IN_RUN] = in_run
    state[RUN_START] = run_start
    state[PEAK] = peak
    return count


def find_regions(classes: np.ndarray, window: int, edge_threshold: float, peak_threshold: float) -> np.ndarray:
    """All accepted regions of one whole stream, (k, 2) int64 [start, end) (convenience for tests and tools)."""
    scores = base_scores(classes)
    regions = np.empty((len(scores) + 1, 2), np.int64)
    state = new_scanner_state()
    count = scan(scores, 0, True, window, threshold_int(edge_threshold, window),
                 threshold_int(peak_threshold, window), state, regions)
    return regions[:count].copy()
