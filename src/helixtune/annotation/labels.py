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

_COLUMN = {GEENUFF_TRANSCRIPT: 0, GEENUFF_CDS: 1, GEENUFF_INTRON: 2}
_ERRORS = frozenset(ERROR_TYPES)
_PHASE_PATTERN = np.array([1, 3, 2], dtype=np.int64)  # phase-class index per codon position (phase 0)
_EYE4 = np.eye(4, dtype=np.int8)


@dataclass(frozen=True)
class LabelFeature:
    type: str
    start: int
    end: int
    plus: bool
    phase: int | None


@dataclass
class StrandLabels:
    """Per-base labels of one strand, plus-ordered, shape (n, ...)."""

    y: np.ndarray
    sample_weights: np.ndarray
    gene_lengths: np.ndarray
    phases: np.ndarray
    transitions: np.ndarray


def _plus_range(feature: LabelFeature, n: int) -> tuple[int, int, int]:
    start, end = (feature.start, feature.end) if feature.plus else (feature.end + 1, feature.start + 1)
    return max(start, 0), min(end, n), end - start


def strand_labels(features: list[LabelFeature], n: int, plus: bool) -> StrandLabels:
    """Labels of one strand of a sequence of length `n`; `features` sorted as upstream (by min(start, end))."""
    matrix = np.zeros((n, 3), dtype=np.int8)
    mask = np.ones(n, dtype=np.int8)
    gene_lengths = np.zeros(n, dtype=np.uint32)
    phases = np.zeros((n, 4), dtype=np.int8)
    phases[:, 0] = 1
    own = [f for f in features if f.plus == plus]
    for feature in own:
        start, end, full_length = _plus_range(feature, n)
        if feature.type in _COLUMN:
            matrix[start:end, _COLUMN[feature.type]] = 1
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
        coding = np.flatnonzero(matrix[start:end, 2] == 0) + start  # the CDS span minus (any) introns
        if len(coding) == 0:
            continue
        pattern = np.roll(_PHASE_PATTERN, feature.phase or 0)  # upstream needs phase 0..2; None read as 0
        classes = np.tile(pattern, -(-len(coding) // 3))
        if plus:
            classes = classes[:len(coding)]
        else:  # 5' end is the high coordinate: reversed, surplus dropped at the 3' (low) end
            classes = classes[::-1][len(classes) - len(coding):]
        phases[coding] = _EYE4[classes]

    y = np.zeros((n, 4), dtype=np.int8)
    transcript, cds, intron = matrix[:, 0] == 1, matrix[:, 1] == 1, matrix[:, 2] == 1
    y[:, 0] = ~transcript
    y[:, 1] = transcript & ~cds & ~intron
    y[:, 2] = transcript & cds & ~intron
    y[:, 3] = transcript & intron
    return StrandLabels(y, mask, gene_lengths, phases, transitions_of(matrix))


def transitions_of(matrix: np.ndarray) -> np.ndarray:
    """(n, 6) int8: starts of columns 0-2 then ends of columns 0-2, marked on both flanking bases."""
    n = matrix.shape[0]
    stack = np.zeros((n, 6), dtype=np.int8)
    if n > 1:
        step = matrix[1:].astype(np.int8) - matrix[:-1].astype(np.int8)
        stack[:-1, :3] = step > 0
        stack[:-1, 3:] = step < 0
    out = stack.copy()
    out[1:] += stack[:-1]
    return out
