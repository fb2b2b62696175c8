"""Checkpoint selection by the decoded gene models (`train --select-by cds-exon-f1|gene-f1`).

Base-wise genic F1 rewards calling everything genic on a gene-dense genome (an all-CDS guess scores 0.83 on
S. pombe); what a user wants is the checkpoint whose *gene models* are best. A gene-level check:

1. once per run: a fixed subset of the validation data, whole sequences (both strands) in file order up to
   `max_bp` bases, written to `<run_dir>/gene_check/validation_subset.h5`, and its reference gene models:
   the validation labels decoded by the same decoder (`validation_subset.reference.<decoder>.gff3`), so the
   check compares like with like and needs no GFF3. The decoder is HelixerPost's by default, or the genome
   decoder (`--gene-check-decoder genome`, annotate's; its parameters as given, not adapted, so every check
   decodes alike; self-train's checks use it with the statistics it adapted). In the fine-tuning study the
   genome decoder's checks picked checkpoints as good as HelixerPost's for the frozen modes and self-training,
   but their noisier start stopped the whole-network run by patience at its first check (held-out gene F1
   0.498 against 0.637), so HelixerPost's stays the default;
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

SELECT_BY = ("auto", "genic-f1", "sub-genic-f1", "cds-exon-f1", "gene-f1")
GENE_LEVEL = ("cds-exon-f1", "gene-f1")
# "auto": gene-f1 when fine-tuning a pretrained model (the fine-tuning study's selection table: on held-out
# S. pombe it picked the checkpoint with better gene models than genic-f1 did), upstream's genic-f1 otherwise
AUTO_FINE_TUNING = "gene-f1"
DEFAULT_MAX_BP = 1_000_000
# the RNA-seq tracks a coverage model reads (add-coverage --dataset-prefix rnaseq), carried into the subset
COVERAGE_SPECS = (h5layout.coverage_spec("rnaseq"), h5layout.spliced_coverage_spec("rnaseq"))
SUBSET_SPECIES = "validation"
# pooled: F1 over all the subset's genes; per-file: the mean of each validation file's F1, so that every genome
# of a multi-genome validation counts alike, not in proportion to its genes
GENE_CHECK_AVERAGES = ("pooled", "per-file")


def basewise_score(metrics, select_by: str) -> float:
    """The selection score of a check's base-wise metrics (genic-f1: upstream's; sub-genic-f1: CDS + intron)."""
    if select_by == "genic-f1":
        return float(metrics.genic_f1)
    if select_by == "sub-genic-f1":
        return float(metrics.genic.scores()["sub_genic"]["f1"])
    raise ValueError(select_by)


def _segments(seqids: np.ndarray, start_ends: np.ndarray) -> list[tuple[bytes, np.ndarray, int, int]]:
    """(name, rows, low, high) of each stretch of a sequence that has both strands' chunks, in file order.

    Unfiltered data gives whole sequences under their own names. Filtered data (self-train keeps only its
    confident chunks, per strand) gives the contiguous stretches where both strands were kept, named
    `seqid:low-high`, so the decoder, which needs both strands of every position, can read them. `rows`: plus
    chunks ascending, then minus chunks descending, the order of a whole sequence (genome/chunks.py).
    """
    plus, minus, order = {}, {}, []
    for row, (seqid, (start, end)) in enumerate(zip(seqids, start_ends)):
        seqid = bytes(seqid)
        if seqid not in plus:
            plus[seqid], minus[seqid] = {}, {}
            order.append(seqid)
        if start < end:
            plus[seqid][(int(start), int(end))] = row
        else:
            minus[seqid][(int(end), int(start))] = row
    segments = []
    for seqid in order:
        paired = sorted(set(plus[seqid]) & set(minus[seqid]))
        stretches: list[list[tuple[int, int]]] = []
        for interval in paired:
            if stretches and stretches[-1][-1][1] == interval[0]:
                stretches[-1].append(interval)
            else:
                stretches.append([interval])
        whole = len(stretches) == 1 and len(paired) == len(plus[seqid]) == len(minus[seqid]) \
            and paired[0][0] == 0
        for stretch in stretches:
            low, high = stretch[0][0], stretch[-1][1]
            rows = [plus[seqid][i] for i in stretch] + [minus[seqid][i] for i in reversed(stretch)]
            name = seqid if whole else seqid + f":{low}-{high}".encode()
            segments.append((name, np.asarray(rows), low, high))
    return segments


def _chosen_segments(paths, max_bp: int) -> list[tuple[Path, list]]:
    """(file, segments) of whole sequences (or two-stranded stretches), in file order, up to `max_bp` bases."""
    chosen, total = [], 0
    for path in paths:
        with h5layout.open_h5(path) as h5:
            seqids = h5[h5layout.SEQIDS.path][:]
            start_ends = h5[h5layout.START_ENDS.path][:]
        segments = []
        for segment in _segments(seqids, start_ends):
            if total >= max_bp:
                break
            total += segment[3] - segment[2]
            segments.append(segment)
        if segments:
            chosen.append((Path(path), segments))
        if total >= max_bp:
            break
    return chosen


def write_validation_subset(paths, out: Path, max_bp: int, coverage_specs=()) -> int:
    """Write the subset (annotated datasets and `coverage_specs`; species renamed, seqids prefixed by file when
    there are several, stretches shifted to start at 0); returns its rows."""
    import h5py

    chosen = _chosen_segments(paths, max_bp)
    if not chosen:
        raise HelixtuneError("no validation sequence for the gene-level check: no stretch of the validation data "
                             "has both strands' subsequences")
    specs = list(h5layout.ANNOTATED_DATASETS) + list(coverage_specs)
    arrays: dict[str, list] = {spec.path: [] for spec in specs}
    for number, (path, segments) in enumerate(chosen):
        rows = np.concatenate([segment[1] for segment in segments])
        # h5py reads increasing indices: read them sorted, then put them in the segments' order
        unique, position = np.unique(rows, return_inverse=True)
        with h5layout.open_h5(path) as h5:
            h5layout.require_datasets(h5, specs, path)
            for spec in specs:
                values = h5[spec.path][unique][position]
                if spec is h5layout.SEQIDS:
                    names = [name for name, seg_rows, _, _ in segments for _ in seg_rows]
                    prefix = f"f{number}_".encode() if len(chosen) > 1 else b""  # one name may be in two genomes
                    values = np.asarray([prefix + name for name in names], dtype=h5layout.SEQID_DTYPE)
                if spec is h5layout.START_ENDS:
                    offsets = np.concatenate([np.full(len(seg_rows), low) for _, seg_rows, low, _ in segments])
                    values = values - offsets[:, None]
                if spec is h5layout.SPECIES:
                    values = np.full(len(rows), SUBSET_SPECIES.encode(), dtype=h5layout.SPECIES_DTYPE)
                arrays[spec.path].append(values)
    n_rows = sum(len(a) for a in arrays[h5layout.SEQIDS.path])
    length = arrays[h5layout.X.path][0].shape[1]
    with atomic_output(out) as tmp, h5py.File(tmp, "w") as h5:
        for spec in specs:
            data = np.concatenate(arrays[spec.path])
            h5layout.create_dataset(h5, spec, n_rows, length, n_tracks=data.shape[2] if data.ndim == 3 else None,
                                    data=data)
    return n_rows


class GeneLevelCheck:
    """Callable on a model: {'cds_exon_f1', 'gene_f1', 'genes', 'reference_genes', 'seconds'}."""

    def __init__(self, validation_paths, work_dir, max_bp: int = DEFAULT_MAX_BP, decoder: str = "helixerpost",
                 threads: int | None = None, params=None, average: str = "pooled"):
        from helixtune.decode.label_predictions import write_label_predictions
        from helixtune.decode.pipeline import decode_to_gff3

        self.work_dir = Path(work_dir)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.threads = threads
        # the genome decoder as given, not adapted: a check compares checkpoints, always with the same statistics
        self.decode_keywords = {"decoder": decoder} if decoder == "helixerpost" else \
            {"decoder": decoder, "params": params, "adapt": False}
        if average not in GENE_CHECK_AVERAGES:
            raise ValueError(average)
        # per-file: the subset's sequences of file i are named f{i}_... (write_validation_subset); one file: pooled
        self.files = {}
        if average == "per-file":
            chosen = [path for path, _ in _chosen_segments(validation_paths, max_bp)]
            if len(chosen) > 1:
                self.files = {f"f{number}_": path.stem for number, path in enumerate(chosen)}
        self.genome = self.work_dir / "validation_subset.h5"
        self.reference = self.work_dir / f"validation_subset.reference.{decoder}.gff3"
        if not self.genome.exists():
            # coverage tracks go along whenever the validation data has them: a coverage model needs them
            with h5layout.open_h5(validation_paths[0]) as h5:
                coverage = [spec for spec in COVERAGE_SPECS if spec.path in h5]
            write_validation_subset(validation_paths, self.genome, max_bp, coverage)
        if not self.reference.exists():
            labels = self.work_dir / "validation_subset.labels_as_predictions.h5"
            write_label_predictions(self.genome, labels)
            decode_to_gff3(self.genome, labels, self.reference, threads=threads, show_progress=False,
                           **self.decode_keywords)
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
            coverage = [spec.path for spec in COVERAGE_SPECS] if getattr(model, "coverage_tracks", 0) else None
            predict_file(copy.deepcopy(model).float().cpu(), self.genome, predictions,
                         PredictOptions(threads=self.threads, batch_size=8, compression="lzf"),
                         coverage_datasets=coverage)
            decode_to_gff3(self.genome, predictions, genes, threads=self.threads, show_progress=False,
                           **self.decode_keywords)
            features = evaluate(self.reference, genes)
        finally:
            model.train(was_training)
        scores = features["features"]
        result = {"cds_exon_f1": scores["cds_exon"]["f1"], "gene_f1": scores["gene"]["f1"],
                  "genes": features["sanity"]["prediction"]["genes"],
                  "reference_genes": features["sanity"]["reference"]["genes"]}
        if self.files:
            result.update(self._per_file(*features["_sides"][:2]))
        result["seconds"] = round(time.time() - started, 1)
        return result

    def _per_file(self, reference, prediction) -> dict:
        """Each validation file's CDS-exon and gene F1 (`gene_f1_<file>`), and their means over the files."""
        from helixtune.annotation.coding_transcripts import select
        from helixtune.evaluate.features import compare_features

        seqids = {t.seqid for side in (reference, prediction) for t in side.models.transcripts}
        out, gene, cds_exon = {}, [], []
        for prefix, name in self.files.items():
            mine = {seqid: None for seqid in seqids if seqid.startswith(prefix)}  # whole sequences
            scores = compare_features(select(reference.models, mine), select(prediction.models, mine))
            gene.append(scores["gene"]["f1"])
            cds_exon.append(scores["cds_exon"]["f1"])
            out[f"gene_f1_{name}"] = gene[-1]
        return {**out, "file_mean_gene_f1": float(np.mean(gene)), "file_mean_cds_exon_f1": float(np.mean(cds_exon))}

    def score(self, genes: dict, select_by: str) -> float:
        """The selection score of a check's figures: pooled over all genes, or the mean over the files."""
        key = select_by.replace("-", "_")
        return genes[f"file_mean_{key}"] if self.files else genes[key]


def resolve_selection(config, validation_paths, work_dir, processes: int) -> tuple[str, GeneLevelCheck | None, str]:
    """The run's selection metric (`auto` made concrete), its gene-level check if it needs one, and why `auto`
    chose what it chose ("" otherwise).

    `auto` is gene-f1 when a pretrained model is tuned in one process and the validation data hold a stretch
    with both strands (the check decodes gene models); genic-f1 from scratch, with several processes, with
    `--upstream-fine-tune`, or when no stretch can be decoded.
    """
    select_by = config.select_by
    if select_by == "auto":
        if config.load_model_path is None or config.upstream_fine_tune:
            return "genic-f1", None, "not fine-tuning"
        if processes > 1:
            return "genic-f1", None, "gene-level checks run in one process"
        try:
            return AUTO_FINE_TUNING, _gene_check(config, validation_paths, work_dir), "fine-tuning a pretrained model"
        except HelixtuneError as err:
            return "genic-f1", None, str(err)
    if select_by not in GENE_LEVEL:
        return select_by, None, ""
    if processes > 1:
        raise HelixtuneError(f"--select-by {select_by} runs in one process; use genic-f1 with several devices")
    return select_by, _gene_check(config, validation_paths, work_dir), ""


def _gene_check(config, validation_paths, work_dir) -> GeneLevelCheck:
    return GeneLevelCheck(validation_paths, work_dir, max_bp=config.gene_check_bp, decoder=config.gene_check_decoder,
                          params=config.gene_check_params, average=config.gene_check_average)
