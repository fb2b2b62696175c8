"""Calibrating the genome decoder to a model: how much weight its predictions get against the sequence.

A confident network (or reference labels) should decide the gene structure nearly alone; a weak one's
probabilities are noisy and the splice-site, start-codon, coding and length statistics should carry more
weight. `calibrate` decodes a model's predictions of one or more annotated genomes (or of their held-out
sequences) at every point of a small grid of decoder settings, scores each decode against the annotation
with `helixtune evaluate`'s feature-level measures (only on the sequences the genome h5 holds), and keeps
the point with the best mean gene F1 over the genomes (ties: the best mean CDS-exon F1). The scores of
every grid point are recorded in the parameters' `source`.
"""

from __future__ import annotations

import copy
import itertools
import tempfile
from dataclasses import dataclass
from pathlib import Path

from helixtune.errors import HelixtuneError

WEIGHTS = (0.3, 0.1, 0.03, 0.01, 0.003)
PEAKS = (0.8,)
# the settings a grid may vary (numbers of DecodeParams)
GRID_FIELDS = ("emission_weight", "peak_threshold", "edge_threshold", "splice_weight", "start_weight",
               "coding_weight", "mean_intergenic", "introns_per_coding_base")
DEFAULT_GRID = {"emission_weight": WEIGHTS, "peak_threshold": PEAKS}


@dataclass
class CalibrationSet:
    """A model's predictions of an annotated genome: predictions h5, the genome h5 they were made from, and
    the genome's reference annotation and FASTA."""

    predictions_h5: object
    genome_h5: object
    gff3: object
    fasta: object


def parse_grid(items) -> dict:
    """`NAME=V1,V2,...` strings (command line) -> {name: (values)}; the emission weight and peak threshold
    default to WEIGHTS and PEAKS when not named."""
    grid = dict(DEFAULT_GRID)
    for item in items or ():
        name, _, values = str(item).partition("=")
        name = name.strip()
        if name not in GRID_FIELDS:
            raise HelixtuneError(f"--grid: '{name}' is not a calibrated setting (one of {', '.join(GRID_FIELDS)})")
        try:
            numbers = tuple(float(v) for v in values.split(",") if v.strip())
        except ValueError:
            raise HelixtuneError(f"--grid {item}: the values must be numbers separated by commas") from None
        if not numbers:
            raise HelixtuneError(f"--grid {item}: no values (expected NAME=V1,V2,...)")
        grid[name] = numbers
    return grid


def _sequences_of(genome_h5) -> list:
    from helixtune import h5layout

    with h5layout.open_h5(genome_h5) as h5:
        seqids = h5[h5layout.SEQIDS.path][:]
    return sorted({s.decode() if isinstance(s, bytes) else str(s) for s in seqids})


def calibrate(params, sets, grid=None, threads=None, progress=None):
    """Decode every calibration set at every grid point; return a copy of `params` set to the best point."""
    from helixtune.decode.genome_pipeline import decode_genome
    from helixtune.evaluate.compare import evaluate

    grid = dict(DEFAULT_GRID if grid is None else grid)
    names = list(grid)
    sequences = [_sequences_of(s.genome_h5) for s in sets]
    results = []
    best = None
    with tempfile.TemporaryDirectory(prefix="helixtune-calibrate-") as tmp:
        for k, values in enumerate(itertools.product(*(grid[n] for n in names))):
            trial = copy.deepcopy(params)
            for name, value in zip(names, values):
                setattr(trial, name, float(value))
            trial.validate("calibration grid")
            genes, exons = [], []
            for i, (cal, seqs) in enumerate(zip(sets, sequences)):
                out = Path(tmp) / f"point{k}_set{i}.gff3"
                decode_genome(cal.genome_h5, cal.predictions_h5, out, threads=threads, show_progress=False,
                              params=trial)
                features = evaluate(cal.gff3, out, fasta=cal.fasta, sequences=seqs)["features"]
                genes.append(features["gene"]["f1"])
                exons.append(features["cds_exon"]["f1"])
            gene, exon = sum(genes) / len(genes), sum(exons) / len(exons)
            point = {name: float(value) for name, value in zip(names, values)}
            row = {**point, "gene_f1": round(gene, 4), "cds_exon_f1": round(exon, 4)}
            if len(sets) > 1:
                row["gene_f1_per_genome"] = [round(g, 4) for g in genes]
            results.append(row)
            if progress is not None:
                setting = ", ".join(f"{name.replace('_', ' ')} {value:g}" for name, value in point.items())
                progress(f"{setting}: gene F1 {gene:.3f}, CDS-exon F1 {exon:.3f}")
            if best is None or (gene, exon) > best[0]:
                best = ((gene, exon), point)
    params = copy.deepcopy(params)
    for name, value in best[1].items():
        setattr(params, name, value)
    params.source["calibration"] = {
        "predictions": [Path(s.predictions_h5).name for s in sets],
        "annotations": [Path(s.gff3).name for s in sets],
        "selected_by": "mean gene F1 over the calibration genomes (ties: mean CDS-exon F1)",
        "grid": results}
    return params


def calibrate_emission_weight(params, genome_h5, predictions_h5, gff3, fasta, threads=None, weights=WEIGHTS,
                              peaks=PEAKS, progress=None):
    """One genome, the emission weight and peak threshold only (the grid of earlier versions)."""
    return calibrate(params, [CalibrationSet(predictions_h5, genome_h5, gff3, fasta)],
                     {"emission_weight": weights, "peak_threshold": peaks}, threads=threads, progress=progress)
