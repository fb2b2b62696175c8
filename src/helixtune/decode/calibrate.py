"""Calibrating the genome decoder to a model: how much weight its predictions get against the sequence.

A confident network (or reference labels) should decide the gene structure nearly alone; a weak one's
probabilities are noisy and the splice-site, start-codon and length statistics should carry more weight.
`calibrate_emission_weight` decodes a model's predictions of an annotated genome with each emission weight
(and peak threshold) of a small grid, scores each decode against the annotation with `helixtune evaluate`'s
feature-level measures, and keeps the best (mean of gene and CDS-exon F1). The scores of every grid point
are recorded in the parameters' `source`.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

WEIGHTS = (0.3, 0.1, 0.03, 0.01, 0.003)
PEAKS = (0.8,)


def calibrate_emission_weight(params, genome_h5, predictions_h5, gff3, fasta, threads=None, weights=WEIGHTS,
                              peaks=PEAKS, progress=None):
    from helixtune.decode.genome_pipeline import decode_genome
    from helixtune.evaluate.compare import evaluate

    results = []
    best = None
    with tempfile.TemporaryDirectory(prefix="helixtune-calibrate-") as tmp:
        for peak in peaks:
            for weight in weights:
                trial = copy.deepcopy(params)
                trial.emission_weight = float(weight)
                trial.peak_threshold = float(peak)
                out = Path(tmp) / f"w{weight}_p{peak}.gff3"
                decode_genome(genome_h5, predictions_h5, out, threads=threads, show_progress=False, params=trial)
                features = evaluate(gff3, out, fasta=fasta)["features"]
                gene, exon = features["gene"]["f1"], features["cds_exon"]["f1"]
                score = (gene + exon) / 2
                results.append({"emission_weight": weight, "peak_threshold": peak, "gene_f1": round(gene, 4),
                                "cds_exon_f1": round(exon, 4)})
                if progress is not None:
                    progress(f"emission weight {weight:g}, peak threshold {peak:g}: gene F1 {gene:.3f}, "
                             f"CDS-exon F1 {exon:.3f}")
                if best is None or score > best[0]:
                    best = (score, weight, peak)
    params = copy.deepcopy(params)
    params.emission_weight = float(best[1])
    params.peak_threshold = float(best[2])
    params.source["calibration"] = {"predictions": Path(predictions_h5).name, "annotation": Path(gff3).name,
                                    "grid": results}
    return params
