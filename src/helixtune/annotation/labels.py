"""Per-base training labels of one sequence and strand, from GeenuFF features (upstream geenuff2h5's numerify).

Built in plus orientation over the whole sequence, then cut into chunks by `helixtune.genome.chunks`:
- M (n, 3) int8, columns [in transcript, in CDS span, in intron]; error features zero the mask;
- y one-hot [intergenic, UTR, CDS, intron]: intergenic = not transcript; intron wins over the CDS span;
- sample_weights = the error mask (1 usable, 0 inside an error of an exported transcript);
- gene_lengths = the full (unclipped) transcript length over its bases, max over overlapping transcripts;
- phases one-hot [none, 0, 1, 2]: over each CDS span's non-intron bases the pattern 0, 2, 1 ("bases to the
  next codon start", class indices 1, 3, 2) rotated by the CDS's 5' phase, read 5'->3'; later CDS win;
- transitions (6 columns): 0->1 and 1->0 steps of M's columns in genomic (plus) order, both flanking
  bases marked; on the minus strand the columns keep their genomic meaning (upstream's layout).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from helixtune.annotation.genemodels import GEENUFF_CDS, GEENUFF_INTRON, GEENUFF_TRANSCRIPT
from helixtune.annotation.validation import ERROR_TYPES
from helixtune.errors import HelixtuneError

# the 3 columns of upstream's matrix M as bits of one code per base: transcript 1, CDS span 2, intron 4
_BIT = {GEENUFF_TRANSCRIPT: 1, GEENUFF_CDS: 2, GEENUFF_INTRON: 4}
_ERRORS = frozenset(ERROR_TYPES)
_PHASE_PATTERN = np.array([1, 3, 2], dtype=np.int64)  # phase-class index per codon position (phase 0)
_EYE4 = np.eye(4, dtype=np.int8)


def _class_of(code: int) -> int:
    """intergenic = not transcript; intron wins over the CDS span; UTR = transcript, neither CDS nor intron."""
    if not code & 1:
        return 0
    if code & 4:
        return 3
    return 2 if code & 2 else 1


CLASS_OF_CODE = np.array([_class_of(k) for k in range(8)], dtype=np.int64)
_Y_OF_CODE = _EYE4[CLASS_OF_CODE]


def _transition_row(prev: int, cur: int, nxt: int) -> list[int]:
    """Upstream's marks at a base: column switches on (cols 0-2) / off (cols 3-5) towards either neighbour."""
    row = []
    for switch_on in (True, False):
        for bit in (1, 2, 4):
            def flips(a, b):
                return (not a & bit and b & bit) if switch_on else (a & bit and not b & bit)
            row.append(int(bool(flips(cur, nxt)) or bool(flips(prev, cur))))
    return row


# indexed by prev * 64 + cur * 8 + next
_TRANSITIONS_OF_CODES = np.array([_transition_row(p, c, x) for p in range(8) for c in range(8) for x in range(8)],
                                 dtype=np.int8)


@dataclass(frozen=True)
class LabelFeature:
    type: str
    start: int
    end: int
    plus: bool
    phase: int | None


@dataclass
class StrandLabels:
    """Per-base labels of one strand, plus-ordered, shape (rows, ...); rows beyond the sequence are padding."""

    y: np.ndarray
    sample_weights: np.ndarray
    gene_lengths: np.ndarray
    phases: np.ndarray
    transitions: np.ndarray
    code: np.ndarray  # (n,) uint8 bits transcript 1, CDS span 2, intron 4 (upstream's 3-column M)


def _plus_range(feature: LabelFeature, n: int) -> tuple[int, int, int]:
    start, end = (feature.start, feature.end) if feature.plus else (feature.end + 1, feature.start + 1)
    return max(start, 0), min(end, n), end - start


def strand_labels(features: list[LabelFeature], n: int, plus: bool, padded_length: int | None = None) -> StrandLabels:
    """Labels of one strand of a sequence of length `n`; `features` sorted as upstream (by min(start, end)).

    With `padded_length` (>= n) the arrays have that many rows, all zero after row n (padding), so that
    plus-strand chunks are a mere reshape of them.
    """
    rows = n if padded_length is None else padded_length
    code = np.zeros(n, dtype=np.uint8)
    mask = np.zeros(rows, dtype=np.int8)
    mask[:n] = 1
    gene_lengths = np.zeros(rows, dtype=np.uint32)
    phases = np.zeros((rows, 4), dtype=np.int8)
    phases[:n, 0] = 1
    own = [f for f in features if f.plus == plus]
    for feature in own:
        start, end, full_length = _plus_range(feature, n)
        if feature.type in _BIT:
            code[start:end] |= _BIT[feature.type]
            if feature.type == GEENUFF_TRANSCRIPT and end > start:
                np.maximum(gene_lengths[start:end], full_length, out=gene_lengths[start:end])
        elif feature.type in _ERRORS:
            mask[start:end] = 0
        else:
            raise HelixtuneError(f"unknown feature type '{feature.type}' in the gene-model database")

    for feature in own:
        if feature.type != GEENUFF_CDS:
            continue
        start, end, _ = _plus_range(feature, n)
        if end <= start:
            continue
        coding = np.flatnonzero((code[start:end] & 4) == 0) + start  # the CDS span minus (any) introns
        if len(coding) == 0:
            continue
        pattern = np.roll(_PHASE_PATTERN, feature.phase or 0)  # upstream needs phase 0..2; None read as 0
        classes = np.tile(pattern, -(-len(coding) // 3))
        if plus:
            classes = classes[:len(coding)]
        else:  # 5' end is the high coordinate: reversed, surplus dropped at the 3' (low) end
            classes = classes[::-1][len(classes) - len(coding):]
        phases[coding] = _EYE4[classes]

    y = np.zeros((rows, 4), dtype=np.int8)
    np.take(_Y_OF_CODE, code, axis=0, out=y[:n])
    return StrandLabels(y, mask, gene_lengths, phases, transitions_of(code, rows), code)


def transitions_of(code: np.ndarray, rows: int | None = None) -> np.ndarray:
    """(rows, 6) int8 transition marks from the per-base codes (rows beyond the sequence stay 0).

    A base gets a mark when a column switches between it and either neighbour, so both bases flanking a
    boundary are marked; the sequence ends count as no switch (upstream appends a zero row).
    """
    n = len(code)
    out = np.zeros((n if rows is None else rows, 6), dtype=np.int8)
    if n == 0:
        return out
    extended = np.empty(n + 2, dtype=np.uint16)
    extended[1:-1] = code
    extended[0], extended[-1] = code[0], code[-1]
    index = extended[:-2] * 64
    index += extended[1:-1] * 8
    index += extended[2:]
    np.take(_TRANSITIONS_OF_CODES, index, axis=0, out=out[:n])
    return out
