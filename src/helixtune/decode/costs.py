"""Per-base costs of HelixerPost's HMM: base mismatch penalties and state emission costs (float64).

Every value is computed exactly as upstream does (same operations, same order, libm's log2 through
numba's `math.log2`; numpy's `np.log2` differs in the last bit and must not be used here), because the
search truncates costs to integer micro-units and a one-ulp difference can change the chosen path.
"""

from __future__ import annotations

import math

import numba
import numpy as np

PROB_FLOOR = 0.000_000_001  # keeps -log2 finite
PHASE_RETAIN = 0.20
PHASE_DILUTE = 1.0 - PHASE_RETAIN

# cost models (see docs/decode.md)
COST_HEAD = 0  # current upstream: codon position 2 (Coding1) reads the raw -log2 value instead of the penalty
COST_CORRECTED = 1  # as HEAD, but Coding1 uses the penalty like every other coding state
COST_B674AF9 = 2  # upstream before 2024-10-28: intergenic, UTR and intron use 4-class penalties
COST_MODELS = {"head": COST_HEAD, "corrected": COST_CORRECTED, "b674af9": COST_B674AF9}


@numba.njit(cache=True, nogil=True, inline="always")
def nlp(x):
    if not x > PROB_FLOOR:
        x = PROB_FLOOR
    return -math.log2(x)


@numba.njit(cache=True, nogil=True)
def base_penalties(bases):
    """(n, 4) float32 C,A,T,G fractions -> (n, 4) float64 mismatch penalties (0 for the matching letter(s))."""
    n = bases.shape[0]
    out = np.empty((n, 4), np.float64)
    for t in range(n):
        for i in range(4):
            out[t, i] = nlp(np.float64(bases[t, i]))
        low = out[t, 0]
        for i in range(1, 4):
            if out[t, i] < low:
                low = out[t, i]
        for i in range(4):
            out[t, i] -= low
    return out


@numba.njit(cache=True, nogil=True)
def emission_costs(classes, phases, cost_model):
    """(n, 4) class and phase predictions (float32) -> (n, 7) emission costs, columns as in `states.EM_*`."""
    n = classes.shape[0]
    out = np.empty((n, 7), np.float64)
    raw = np.empty(6, np.float64)
    pen6 = np.empty(6, np.float64)
    nlp6 = np.empty(6, np.float64)
    pen4 = np.empty(4, np.float64)
    for t in range(n):
        coding = np.float64(classes[t, 2])
        p0 = np.float64(phases[t, 1])
        p1 = np.float64(phases[t, 2])
        p2 = np.float64(phases[t, 3])
        total = p0 + p1 + p2
        if total > 0.0:
            scale = coding / total
            p0 = p0 * scale
            p1 = p1 * scale
            p2 = p2 * scale
        else:
            p0 = coding / 3.0
            p1 = coding / 3.0
            p2 = coding / 3.0
        raw[0] = np.float64(classes[t, 0])
        raw[1] = np.float64(classes[t, 1])
        raw[2] = p0 * PHASE_RETAIN + coding * PHASE_DILUTE
        raw[3] = p1 * PHASE_RETAIN + coding * PHASE_DILUTE
        raw[4] = p2 * PHASE_RETAIN + coding * PHASE_DILUTE
        raw[5] = np.float64(classes[t, 3])
        for i in range(6):
            nlp6[i] = nlp(raw[i])
        low = nlp6[0]
        for i in range(1, 6):
            if nlp6[i] < low:
                low = nlp6[i]
        for i in range(6):
            pen6[i] = nlp6[i] - low
        out[t, 2] = pen6[2]  # codon position 1: Helixer phase 0
        out[t, 3] = pen6[3]  # codon position 3: Helixer phase 1
        out[t, 4] = pen6[4]  # codon position 2: Helixer phase 2
        if cost_model == COST_HEAD:
            out[t, 6] = nlp6[4]  # upstream's Coding1 quirk
        else:
            out[t, 6] = pen6[4]
        if cost_model == COST_B674AF9:
            for i in range(4):
                pen4[i] = nlp(np.float64(classes[t, i]))
            low = pen4[0]
            for i in range(1, 4):
                if pen4[i] < low:
                    low = pen4[i]
            for i in range(4):
                pen4[i] -= low
            out[t, 0] = pen4[0]
            out[t, 1] = pen4[1]
            out[t, 5] = pen4[3]
        else:
            out[t, 0] = pen6[0]
            out[t, 1] = pen6[1]
            out[t, 5] = pen6[5]
    return out
