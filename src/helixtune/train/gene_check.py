"""Checkpoint selection by the decoded gene models (`train --select-by cds-exon-f1|gene-f1`).

Base-wise genic F1 rewards calling everything genic on a gene-dense genome (an all-CDS guess scores 0.83 on
S. pombe); what a user wants is the checkpoint whose *gene models* are best. A gene-level check:

1. once per run: a fixed subset of the validation data, whole sequences (both strands) in file order up to
   `max_bp` bases, written to `<run_dir>/gene_check/validation_subset.h5`, and its reference gene models:
   the validation labels decoded by the same decoder (`validation_subset.reference.gff3`), so the check
   compares like with like and needs no GFF3;
2. per check: the current weights predict the subset (`predict`'s engine), the decoder turns the
   predictions into gene models, and `evaluate`'s feature-level scorer gives CDS-exon and gene F1 against
   the reference. Its cost is bounded by `max_bp`; the check logs its seconds.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import numpy as np

from helixtune import h5layout
from helixtune.atomic import atomic_output
from helixtune.errors import HelixtuneError

SELECT_BY = ("genic-f1", "sub-genic-f1", "cds-exon-f1", "gene-f1")
GENE_LEVEL = ("cds-exon-f1", "gene-f1")
DEFAULT_MAX_BP = 1_000_000
SUBSET_SPECIES = "validation"


def basewise_score(metrics, select_by: str) -> float:
    """The selection score of a check's base-wise metrics (genic-f1: upstream's; sub-genic-f1: CDS + intron)."""
    if select_by == "genic-f1":
        return float(metrics.genic_f1)
    if select_by == "sub-genic-f1":
        return float(metrics.genic.scores()["sub_genic"]["f1"])
    raise ValueError(select_by)


def _chosen_rows(paths, max_bp: int) -> list[tuple[Path, np.ndarray]]:
    """(file, rows) of whole sequences, in file order, until `max_bp` bases of sequence are chosen."""
    chosen, total = [], 0
    for path in paths:
        with h5layout.open_h5(path) as h5:
            seqids = h5[h5layout.SEQIDS.path][:]
            start_ends = h5[h5layout.START_ENDS.path][:]
        rows_of: dict[bytes, list[int]] = {}
        for row, seqid in enumerate(seqids):
            rows_of.setdefault(bytes(seqid), []).append(row)
        rows = []
        for seqid, seq_rows in rows_of.items():
            if total >= max_bp:
                break
            plus = [r for r in seq_rows if start_ends[r, 0] < start_ends[r, 1]]
            total += int(sum(start_ends[r, 1] - start_ends[r, 0] for r in plus))
            rows.extend(seq_rows)
        if rows:
            chosen.append((Path(path), np.asarray(sorted(rows))))
        if total >= max_bp:
            break
    return chosen


def write_validation_subset(paths, out: Path, max_bp: int) -> int:
    """Write the subset (annotated datasets; species renamed, seqids prefixed by file); returns its rows."""
    import h5py

    chosen = _chosen_rows(paths, max_bp)
    if not chosen:
        raise HelixtuneError("no validation sequence for the gene-level check")
    arrays: dict[str, list] = {spec.path: [] for spec in h5layout.ANNOTATED_DATASETS}
    for number, (path, rows) in enumerate(chosen):
        with h5layout.open_h5(path) as h5:
            h5layout.require_datasets(h5, h5layout.ANNOTATED_DATASETS, path)
            for spec in h5layout.ANNOTATED_DATASETS:
                values = h5[spec.path][rows]
                if spec is h5layout.SEQIDS and len(chosen) > 1:  # the same name may occur in two genomes
                    values = np.asarray([f"f{number}_".encode() + bytes(v) for v in values],
                                        dtype=h5layout.SEQID_DTYPE)
                if spec is h5layout.SPECIES:
                    values = np.full(len(rows), SUBSET_SPECIES.encode(), dtype=h5layout.SPECIES_DTYPE)
                arrays[spec.path].append(values)
    n_rows = sum(len(rows) for _, rows in chosen)
    length = arrays[h5layout.X.path][0].shape[1]
    with atomic_output(out) as tmp, h5py.File(tmp, "w") as h5:
        for spec in h5layout.ANNOTATED_DATASETS:
            h5layout.create_dataset(h5, spec, n_rows, length, data=np.concatenate(arrays[spec.path]))
    return n_rows


class GeneLevelCheck:
    """Callable on a model: {'cds_exon_f1', 'gene_f1', 'genes', 'reference_genes', 'seconds'}."""

    def __init__(self, validation_paths, work_dir, max_bp: int = DEFAULT_MAX_BP, decoder: str = "helixerpost",
                 threads: int | None = None):
        from helixtune.decode.label_predictions import write_label_predictions
        from helixtune.decode.pipeline import decode_to_gff3

        self.work_dir = Path(work_dir)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.decoder = decoder
        self.threads = threads
        self.genome = self.work_dir / "validation_subset.h5"
        self.reference = self.work_dir / "validation_subset.reference.gff3"
        if not self.genome.exists():
            write_validation_subset(validation_paths, self.genome, max_bp)
        if not self.reference.exists():
            labels = self.work_dir / "validation_subset.labels_as_predictions.h5"
            write_label_predictions(self.genome, labels)
            decode_to_gff3(self.genome, labels, self.reference, decoder=decoder, threads=threads,
                           show_progress=False)
            labels.unlink()

    def __call__(self, model) -> dict:
        from helixtune.decode.pipeline import decode_to_gff3
        from helixtune.evaluate.compare import evaluate
        from helixtune.predict.run import PredictOptions, predict_file

        started = time.time()
        predictions = self.work_dir / "check.predictions.h5"
        genes = self.work_dir / "check.gff3"
        was_training = model.training
        try:
            # a copy: prediction puts the model in eval mode and may convert it for the CPU engine
            predict_file(copy.deepcopy(model).float().cpu(), self.genome, predictions,
                         PredictOptions(threads=self.threads, batch_size=8, compression="lzf"))
            decode_to_gff3(self.genome, predictions, genes, decoder=self.decoder, threads=self.threads,
                           show_progress=False)
            features = evaluate(self.reference, genes)
        finally:
            model.train(was_training)
        scores = features["features"]
        return {"cds_exon_f1": scores["cds_exon"]["f1"], "gene_f1": scores["gene"]["f1"],
                "genes": features["sanity"]["prediction"]["genes"],
                "reference_genes": features["sanity"]["reference"]["genes"],
                "seconds": round(time.time() - started, 1)}
