"""UTRs only where the network supports them: the genome decoder's outer UTRs, trimmed after decoding.

The genome decoder trusts the network lightly (`emission_weight`), so wherever the network gives the UTR
class more probability than intergenic, a UTR state is cheaper per base than intergenic despite the length
priors, and a gene's UTR runs on to the next gene. Whether that probability means anything depends on the
network: one trained on genomes that annotate no UTRs (its loss merges UTR into intergenic there) splits
its non-coding probability between the two classes at will. The bundled fungal model gives UTR more than
intergenic on about 78 % of S. pombe's intergenic bases, exactly as on its UTR bases.

So after a region is decoded, each gene's 5' and 3' UTR flanks are trimmed to what the network supports:

* **Evidence per base**: s(x) = log2 p_utr(x) - log2 p_intergenic(x) - b, in bits. The baseline b is the
  network's typical UTR:intergenic log-odds on the bases it calls non-coding (p_intergenic + p_utr >= 0.5),
  the median over the whole input, and 0 when that median is negative: no genome has more UTR than
  intergenic sequence on a strand, so a network that calls most non-coding bases UTR is not locating UTRs,
  and only its odds above its own typical value count. For a network that learnt UTRs (the median is
  intergenic, below 0) the evidence is plain p_utr against p_intergenic.
* **Cut**: going outwards from the CDS (start and stop codons included), a flank keeps the stretch whose
  summed evidence over its UTR exon bases is largest, and nothing unless that sum is positive. Trimming
  from the outer end inwards stops where the evidence accumulated from the CDS peaks, so a spike of UTR
  probability far out does not keep the stretch between it and the CDS when the evidence there is against
  UTR. A network that predicts no UTR gives genes that span their CDS; UTRs it predicts are kept.
* **UTR introns** stay only when kept UTR exon bases lie beyond them (the cut falls on an exon base).

The CDS, and so every coding base, exon and intron of the CDS, is exactly what the decoder chose.
"""

from __future__ import annotations

import numpy as np

from helixtune.decode.costs import PROB_FLOOR
from helixtune.decode.states import LABEL_CODING, LABEL_INTERGENIC, LABEL_INTRON

_LOW, _HIGH, _STEP = -32.0, 32.0, 1.0 / 32  # histogram of log-odds in bits (log2 of the floor is about -29.9)
_BINS = int((_HIGH - _LOW) / _STEP)


def utr_log_odds(classes: np.ndarray) -> np.ndarray:
    """log2 p_utr - log2 p_intergenic per base (float64), probabilities floored as the decoder's costs."""
    ig = np.maximum(classes[:, 0].astype(np.float64), PROB_FLOOR)
    utr = np.maximum(classes[:, 1].astype(np.float64), PROB_FLOOR)
    return np.log2(utr) - np.log2(ig)


class UtrBaseline:
    """The network's typical UTR:intergenic log-odds on non-coding bases, accumulated block by block."""

    def __init__(self):
        self.counts = np.zeros(_BINS, np.int64)

    def add(self, classes: np.ndarray) -> None:
        classes = np.asarray(classes, np.float32)
        noncoding = classes[:, 0].astype(np.float64) + classes[:, 1] >= 0.5
        if not noncoding.any():
            return
        odds = utr_log_odds(classes[noncoding])
        index = np.clip(((odds - _LOW) / _STEP).astype(np.int64), 0, _BINS - 1)
        self.counts += np.bincount(index, minlength=_BINS)

    @property
    def bases(self) -> int:
        return int(self.counts.sum())

    def median(self) -> float:
        """The median log-odds in bits (the centre of its histogram bin); 0.0 with no non-coding base."""
        total = self.bases
        if total == 0:
            return 0.0
        k = int(np.searchsorted(np.cumsum(self.counts), (total + 1) // 2))
        return _LOW + (k + 0.5) * _STEP

    def value(self) -> float:
        """The baseline b in bits: the median, or 0 where the median is negative."""
        return max(0.0, self.median())


def _kept_length(evidence: np.ndarray, exon: np.ndarray) -> int:
    """Bases to keep of a flank listed from the CDS outwards: up to the exon base where the summed evidence
    of its exon bases is largest, 0 unless that sum is positive."""
    if len(evidence) == 0:
        return 0
    total = np.cumsum(np.where(exon, evidence, 0.0))
    total[~exon] = -np.inf  # the cut falls on an exon base (a UTR intron needs exon bases beyond it)
    best = int(np.argmax(total))
    return best + 1 if total[best] > 0.0 else 0


def trim_unsupported_utrs(runs: np.ndarray, classes: np.ndarray, baseline: float) -> tuple[np.ndarray, int]:
    """Trim the outer UTRs of decoded label runs to what the network supports.

    runs: (k, 3) [start, end, label) of one decoded region, as `solve_genome_region` returns them; classes:
    that region's (n, 4) class probabilities; baseline: `UtrBaseline.value()`. Returns (runs, bases made
    intergenic). Genes without coding bases (cut at a region's end) are left as they are.
    """
    runs = np.asarray(runs, np.int64)
    if len(runs) == 0:
        return runs, 0
    n = int(runs[-1, 1])
    labels = np.repeat(runs[:, 2], runs[:, 1] - runs[:, 0])
    genic = labels != LABEL_INTERGENIC
    if not genic.any():
        return runs, 0
    evidence = None
    trimmed = 0
    edges = np.flatnonzero(np.diff(np.concatenate([[False], genic, [False]]).astype(np.int8)))
    for gene_start, gene_end in zip(edges[0::2], edges[1::2]):
        coding = np.flatnonzero(labels[gene_start:gene_end] == LABEL_CODING)
        if len(coding) == 0:
            continue
        cds_start, cds_end = gene_start + int(coding[0]), gene_start + int(coding[-1]) + 1
        if cds_start == gene_start and cds_end == gene_end:
            continue
        if evidence is None:
            evidence = utr_log_odds(classes[:n]) - baseline
        # 3' flank, outwards = ascending positions
        flank = labels[cds_end:gene_end]
        keep = _kept_length(evidence[cds_end:gene_end], flank != LABEL_INTRON)
        labels[cds_end + keep:gene_end] = LABEL_INTERGENIC
        trimmed += int(gene_end - cds_end - keep)
        # 5' flank, outwards = descending positions
        flank = labels[gene_start:cds_start][::-1]
        keep = _kept_length(evidence[gene_start:cds_start][::-1], flank != LABEL_INTRON)
        labels[gene_start:cds_start - keep] = LABEL_INTERGENIC
        trimmed += int(cds_start - keep - gene_start)
    if trimmed == 0:
        return runs, 0
    change = np.flatnonzero(np.diff(labels)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [n]])
    return np.stack([starts, ends, labels[starts]], axis=1).astype(np.int64), trimmed
