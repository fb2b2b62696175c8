"""Per-base training labels of one sequence and strand, from GeenuFF features (upstream geenuff2h5's numerify).

Upstream's 3-column matrix M (in transcript, in CDS span, in intron) is kept as one bit code per base
(transcript 1, CDS span 2, intron 4) over the whole strand, 1 byte per base; everything else is built
for one window of the sequence at a time (plus orientation), then cut into chunks by
`helixtune.genome.chunks`, so memory follows the window, not the sequence:
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

from helixtune.annotation.geenuff_models import GEENUFF_CDS, GEENUFF_INTRON, GEENUFF_TRANSCRIPT
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
    """Per-base labels of one window of one strand, plus-ordered, shape (rows, ...); rows past the sequence
    end are zero padding."""

    y: np.ndarray
    sample_weights: np.ndarray
    gene_lengths: np.ndarray
    phases: np.ndarray
    transitions: np.ndarray


def _plus_range(feature: LabelFeature, n: int) -> tuple[int, int, int]:
    start, end = (feature.start, feature.end) if feature.plus else (feature.end + 1, feature.start + 1)
    return max(start, 0), min(end, n), end - start


class StrandLabeller:
    """The labels of one strand of a sequence of length `n`, window by window.

    `features`: the exported features of the sequence, sorted as upstream (by min(start, end)); the order
    decides which CDS wins where CDS overlap.
    """

    def __init__(self, features: list[LabelFeature], n: int, plus: bool):
        self.n = n
        self.plus = plus
        self.features = [f for f in features if f.plus == plus]
        for f in self.features:
            if f.type not in _BIT and f.type not in _ERRORS:
                raise HelixtuneError(f"unknown feature type '{f.type}' in the gene-model database")
        ranges = np.array([_plus_range(f, n)[:2] for f in self.features], dtype=np.int64).reshape(-1, 2)
        self.low, self.high = ranges[:, 0], ranges[:, 1]
        self.code = np.zeros(n, dtype=np.uint8)
        for f, lo, hi in zip(self.features, self.low, self.high):
            if f.type in _BIT:
                self.code[lo:hi] |= _BIT[f.type]

    def class_counts(self, sample_weights: np.ndarray, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        """Bases per class in [a, b), and those with weight 0 (`sample_weights` of that window)."""
        code = self.code[a:b]
        per_code = np.bincount(code, minlength=8)
        masked_per_code = np.bincount(code[sample_weights[: b - a] == 0], minlength=8)
        return (np.bincount(CLASS_OF_CODE, weights=per_code, minlength=4).astype(np.int64),
                np.bincount(CLASS_OF_CODE, weights=masked_per_code, minlength=4).astype(np.int64))

    def _coding_count(self, lo: int, hi: int) -> int:
        """Bases in [lo, hi) outside every intron of this strand."""
        if hi <= lo:
            return 0
        return (hi - lo) - int(np.count_nonzero(self.code[lo:hi] & 4))

    def window(self, a: int, b: int, rows: int | None = None) -> StrandLabels:
        """Labels of bases [a, b) (0 <= a < b <= n), with `rows` >= b - a rows (the rest zero padding)."""
        n_real = b - a
        rows = n_real if rows is None else rows
        mask = np.zeros(rows, dtype=np.int8)
        mask[:n_real] = 1
        gene_lengths = np.zeros(rows, dtype=np.uint32)
        phases = np.zeros((rows, 4), dtype=np.int8)
        phases[:n_real, 0] = 1
        inside = np.flatnonzero((self.low < b) & (self.high > a))  # ascending: upstream's feature order
        for k in inside:
            f, lo, hi = self.features[k], max(int(self.low[k]), a), min(int(self.high[k]), b)
            if f.type in _ERRORS:
                mask[lo - a:hi - a] = 0
            elif f.type == GEENUFF_TRANSCRIPT:
                full_length = _plus_range(f, self.n)[2]
                np.maximum(gene_lengths[lo - a:hi - a], full_length, out=gene_lengths[lo - a:hi - a])
        for k in inside:
            f = self.features[k]
            if f.type != GEENUFF_CDS:
                continue
            cds_lo, cds_hi = int(self.low[k]), int(self.high[k])
            lo, hi = max(cds_lo, a), min(cds_hi, b)
            coding = np.flatnonzero((self.code[lo:hi] & 4) == 0)  # the CDS span minus (any) introns
            if len(coding) == 0:
                continue
            # rank of each coding base from the CDS's 5' end (low end on plus, high end on minus)
            if self.plus:
                rank = self._coding_count(cds_lo, lo) + np.arange(len(coding))
            else:
                rank = self._coding_count(hi, cds_hi) + np.arange(len(coding) - 1, -1, -1)
            pattern = np.roll(_PHASE_PATTERN, f.phase or 0)  # upstream needs phase 0..2; None read as 0
            phases[coding + (lo - a)] = _EYE4[pattern[rank % 3]]

        y = np.zeros((rows, 4), dtype=np.int8)
        np.take(_Y_OF_CODE, self.code[a:b], axis=0, out=y[:n_real])
        return StrandLabels(y, mask, gene_lengths, phases, self._transitions(a, b, rows))

    def _transitions(self, a: int, b: int, rows: int) -> np.ndarray:
        """Transition marks of [a, b): a base is marked where a column switches between it and a neighbour;
        the sequence ends count as no switch (upstream appends a zero row)."""
        out = np.zeros((rows, 6), dtype=np.int8)
        n_real = b - a
        extended = np.empty(n_real + 2, dtype=np.uint16)
        extended[1:-1] = self.code[a:b]
        extended[0] = self.code[a - 1] if a > 0 else self.code[a]
        extended[-1] = self.code[b] if b < self.n else self.code[b - 1]
        index = extended[:-2] * 64
        index += extended[1:-1] * 8
        index += extended[2:]
        np.take(_TRANSITIONS_OF_CODES, index, axis=0, out=out[:n_real])
        return out

