"""Feature-level comparison of the coding part of two annotations, counted as gffcompare counts.

Levels (sensitivity = matched reference items / reference items, precision = matched predicted
items / predicted items, F1 their harmonic mean; everything strand-aware and exact):

* `cds_base`: CDS bases (the union over transcripts, per strand);
* `cds_exon`: distinct CDS segments (seqid, strand, start, end);
* `intron`: distinct introns between consecutive CDS segments;
* `intron_chain`: transcripts with at least one intron; matched when the whole intron chain is
  identical to that of a transcript on the other side (gffcompare's "Intron chain level");
* `transcript`: transcripts matched when their whole CDS chain (every segment, both ends) is
  identical (gffcompare's "Transcript level", applied to the CDS);
* `gene`: a gene is matched when any of its transcripts is (gffcompare's "Locus level").

Counting uses distinct items for bases, exons and introns (as gffcompare does), and individual
transcripts / genes for the chain levels.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from helixtune.annotation.coding_transcripts import GeneModels

LEVELS = ("cds_base", "cds_exon", "intron", "intron_chain", "transcript", "gene")


def _score(matched_ref: int, n_ref: int, matched_pred: int, n_pred: int) -> dict:
    sensitivity = matched_ref / n_ref if n_ref else 0.0
    precision = matched_pred / n_pred if n_pred else 0.0
    f1 = 2 * sensitivity * precision / (sensitivity + precision) if sensitivity + precision > 0 else 0.0
    return {"reference": n_ref, "predicted": n_pred, "matched_reference": matched_ref,
            "matched_predicted": matched_pred, "sensitivity": sensitivity, "precision": precision, "f1": f1}


def _distinct_items(models: GeneModels, what) -> set:
    return {(t.seqid, t.strand, item) for t in models.transcripts for item in what(t)}


def _set_score(ref: set, pred: set) -> dict:
    common = len(ref & pred)
    return _score(common, len(ref), common, len(pred))


def _cds_base_score(ref: GeneModels, pred: GeneModels) -> dict:
    """Strand-aware CDS base counts from merged intervals (no per-base arrays needed)."""
    def intervals(models):
        out = defaultdict(list)
        for t in models.transcripts:
            out[(t.seqid, t.strand)].extend(t.cds)
        return {k: _merge(v) for k, v in out.items()}

    ref_iv, pred_iv = intervals(ref), intervals(pred)
    n_ref = sum(e - s for v in ref_iv.values() for s, e in v)
    n_pred = sum(e - s for v in pred_iv.values() for s, e in v)
    common = sum(_overlap_length(ref_iv[k], pred_iv[k]) for k in ref_iv.keys() & pred_iv.keys())
    return _score(common, n_ref, common, n_pred)


def _merge(segments):
    merged = []
    for s, e in sorted(segments):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return merged


def _overlap_length(a, b) -> int:
    i = j = total = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if hi > lo:
            total += hi - lo
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total


def compare_features(ref: GeneModels, pred: GeneModels) -> dict:
    """Scores per level (see the module docstring)."""
    result = {"cds_base": _cds_base_score(ref, pred),
              "cds_exon": _set_score(_distinct_items(ref, lambda t: t.cds), _distinct_items(pred, lambda t: t.cds)),
              "intron": _set_score(_distinct_items(ref, lambda t: t.introns),
                                   _distinct_items(pred, lambda t: t.introns))}

    def chains(models, multi_only):
        return [(t, (t.seqid, t.strand, tuple(t.introns) if multi_only else t.cds_chain))
                for t in models.transcripts if not multi_only or len(t.cds) > 1]

    for level, multi in (("intron_chain", True), ("transcript", False)):
        ref_chains, pred_chains = chains(ref, multi), chains(pred, multi)
        ref_set = {k for _, k in ref_chains}
        pred_set = {k for _, k in pred_chains}
        result[level] = _score(sum(k in pred_set for _, k in ref_chains), len(ref_chains),
                               sum(k in ref_set for _, k in pred_chains), len(pred_chains))

    ref_keys = {t.key() for t in ref.transcripts}
    pred_keys = {t.key() for t in pred.transcripts}
    ref_genes, pred_genes = ref.genes, pred.genes
    result["gene"] = _score(sum(any(t.key() in pred_keys for t in ts) for ts in ref_genes.values()), len(ref_genes),
                            sum(any(t.key() in ref_keys for t in ts) for ts in pred_genes.values()), len(pred_genes))
    return {level: result[level] for level in LEVELS}


INTRON_CLASSES = ("0", "1", "2", "3+")


def gene_scores_by_introns(ref: GeneModels, pred: GeneModels) -> dict:
    """Gene-level scores split by how many introns a gene's CDS has (0, 1, 2, 3 or more): sensitivity over the
    reference genes of each class, precision over the predicted genes of each class, F1 of the two.

    Where gene models go wrong is mostly a matter of introns (on S. pombe a network-based annotation can match
    single-exon genes as well as a trained gene finder and fall far behind on genes with introns), which the
    pooled gene F1 hides. A gene's class is that of its transcript with the most CDS segments.
    """
    def introns_class(transcripts) -> str:
        n = max(len(t.cds) for t in transcripts) - 1
        return INTRON_CLASSES[min(n, len(INTRON_CLASSES) - 1)]

    ref_keys = {t.key() for t in ref.transcripts}
    pred_keys = {t.key() for t in pred.transcripts}
    counts = {c: [0, 0, 0, 0] for c in INTRON_CLASSES}  # matched ref, ref, matched pred, pred
    for transcripts in ref.genes.values():
        row = counts[introns_class(transcripts)]
        row[0] += any(t.key() in pred_keys for t in transcripts)
        row[1] += 1
    for transcripts in pred.genes.values():
        row = counts[introns_class(transcripts)]
        row[2] += any(t.key() in ref_keys for t in transcripts)
        row[3] += 1
    return {c: _score(*row) for c, row in counts.items()}


def matched_transcripts(ref: GeneModels, pred: GeneModels) -> tuple[np.ndarray, np.ndarray]:
    """Boolean arrays: which reference / predicted transcripts have an exact CDS-chain partner."""
    ref_keys = {t.key() for t in ref.transcripts}
    pred_keys = {t.key() for t in pred.transcripts}
    return (np.array([t.key() in pred_keys for t in ref.transcripts], dtype=bool),
            np.array([t.key() in ref_keys for t in pred.transcripts], dtype=bool))
