"""`helixtune evaluate`: compare a predicted annotation with a reference, base-wise and feature-wise.

Either side may be a GFF3 file, an annotated h5 (`data/y`, as written by export / geenuff2h5) or a
predictions h5 (`predictions`, `predictions_phase`). Base-wise metrics work for every combination;
feature-level scores and the sanity panel need gene models, i.e. a GFF3 on that side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from helixtune import h5layout
from helixtune.annotation.coding_transcripts import (
    GeneModels,
    normalise_stop_codons,
    parse_regions,
    read_gene_models,
    select,
)
from helixtune.errors import HelixtuneError, InputFileError
from helixtune.evaluate.basewise import BasewiseMetrics
from helixtune.evaluate.features import compare_features, gene_scores_by_introns
from helixtune.evaluate.sanity import sanity_panel
from helixtune.evaluate.tracks import (
    representative_transcripts,
    sequence_lengths_from_h5,
    tracks_from_h5,
    tracks_from_models,
)

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def is_h5(path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(8) == HDF5_MAGIC
    except FileNotFoundError:
        raise InputFileError(path, "no such file") from None
    except OSError as err:
        raise InputFileError(path, f"cannot be read ({err.strerror})") from None


@dataclass
class Side:
    """One annotation being compared."""

    path: str
    kind: str  # gff3 | labels | predictions
    models: GeneModels | None = None
    coordinates: str | None = None  # h5 holding seqids/start_ends for the rows of a predictions file
    padding_first: bool = False
    extra: dict = field(default_factory=dict)

    def describe(self) -> dict:
        out = {"path": self.path, "kind": self.kind}
        if "padded_minus_layout" in self.extra:
            out["padded_minus_layout"] = self.extra["padded_minus_layout"]
        if self.models is not None:
            out["stop_codons"] = self.models.stop_codon_normalisation
        if self.coordinates and self.coordinates != self.path:
            out["coordinates_from"] = self.coordinates
        return out


def load_side(path, genome: dict | None, stop_codons: str, genome_h5=None, padded_minus="auto") -> Side:
    path = str(path)
    if not is_h5(path):
        if path.lower().endswith((".h5", ".hdf5", ".hdf")):
            raise InputFileError(path, "not an HDF5 file (it does not start with the HDF5 signature)")
        with open(path, "rb") as handle:
            if handle.read(1) == b">":
                raise InputFileError(path, "looks like a FASTA file, not a GFF3 annotation")
        models = normalise_stop_codons(read_gene_models(path), genome, stop_codons)
        return Side(path, "gff3", models=models)
    with h5layout.open_h5(path) as h5:
        if h5layout.Y.path in h5:
            kind = "labels"
        elif h5layout.PREDICTIONS.path in h5:
            kind = "predictions"
        else:
            raise InputFileError(path, "is neither an annotated h5 (data/y) nor a predictions h5 (predictions)")
        has_coordinates = h5layout.START_ENDS.path in h5 and h5layout.SEQIDS.path in h5
        layout = padded_minus_layout(h5, padded_minus)
    coordinates = path if has_coordinates else (str(genome_h5) if genome_h5 else None)
    side = Side(path, kind, coordinates=coordinates, padding_first=kind == "predictions" and layout == "helixer-0.3.6")
    if kind == "predictions":
        side.extra["padded_minus_layout"] = layout
    return side


def padded_minus_layout(h5, requested="auto") -> str:
    """Where a predictions file keeps the real bases of padded minus-strand chunks.

    'genome': first, like the genome h5 (helixtune's default); 'helixer-0.3.6': last, as upstream
    0.3.6+ writes them. 'auto' reads helixtune's `padded_minus_layout` attribute and, for files
    without it (written by upstream), assumes upstream 0.3.6+.
    """
    if requested in (True, "helixer-0.3.6"):
        return "helixer-0.3.6"
    if requested == "genome":
        return "genome"
    value = h5.attrs.get("padded_minus_layout")
    if isinstance(value, bytes):
        value = value.decode()
    return value if value in ("genome", "helixer-0.3.6") else "helixer-0.3.6"


def recorded_test_data(path) -> str | None:
    with h5layout.open_h5(path) as h5:
        recorded = h5.attrs.get("test_data_path")
    if isinstance(recorded, bytes):
        recorded = recorded.decode()
    if not recorded or not Path(recorded).is_file() or not is_h5(recorded):
        return None
    with h5layout.open_h5(recorded) as h5:
        return recorded if h5layout.START_ENDS.path in h5 and h5layout.SEQIDS.path in h5 else None


def _sequence_lengths(reference: Side, prediction: Side, genome: dict | None) -> dict:
    if genome is not None:
        return {seqid: len(seq) for seqid, seq in genome.items()}
    for side in (reference, prediction):
        if side.coordinates:
            with h5layout.open_h5(side.coordinates) as h5:
                return sequence_lengths_from_h5(h5)
    # two GFF3 files and no genome: sequences end at the last feature of either file
    lengths: dict = {}
    for side in (reference, prediction):
        for t in side.models.transcripts:
            lengths[t.seqid] = max(lengths.get(t.seqid, 0), t.span[1], t.cds_end)
    return lengths


def _side_seqids(side: Side) -> set:
    if side.models is not None:
        return side.models.seqids()
    with h5layout.open_h5(side.coordinates) as h5:
        return set(h5layout.decode_strings(h5[h5layout.SEQIDS.path][:]))


def _refuse_disjoint_sequences(reference: Side, prediction: Side) -> None:
    """Two files about different sequences would score all zeros: say so instead."""
    if (reference.models is None and not reference.coordinates) or \
            (prediction.models is None and not prediction.coordinates):
        return
    ref_ids, pred_ids = _side_seqids(reference), _side_seqids(prediction)
    if ref_ids and pred_ids and not ref_ids & pred_ids:
        show = lambda ids: ", ".join(sorted(ids)[:3]) + (", ..." if len(ids) > 3 else "")  # noqa: E731
        raise HelixtuneError(f"{reference.path} and {prediction.path} share no sequence name (reference: "
                             f"{show(ref_ids)}; prediction: {show(pred_ids)}); were they made for the same genome?")


def _refuse_models_beyond_ends(side: Side, lengths: dict) -> None:
    """A feature past the end of its sequence is a broken file, not bases to count."""
    if side.models is None:
        return
    for t in side.models.transcripts:
        end = max(t.span[1], t.cds_end)
        if t.seqid in lengths and end > lengths[t.seqid]:
            raise InputFileError(side.path, f"transcript {t.id} on {t.seqid} ends at {end:,}, beyond the "
                                            f"end of the sequence ({lengths[t.seqid]:,} bp)")


def _side_tracks(side: Side, seqid: str, length: int, pool_size: int) -> dict:
    if side.kind == "gff3":
        return tracks_from_models(side.extra["representatives"], seqid, length)
    if side.coordinates is None:
        raise HelixtuneError(f"{side.path}: a predictions file without data/start_ends needs --genome-h5 "
                             "(the genome or annotated h5 it was predicted from)")
    if side.coordinates == side.path:
        return tracks_from_h5(side.path, seqid, length, padding_first=side.padding_first, pool_size=pool_size)
    with h5layout.open_h5(side.coordinates) as coordinates:
        return tracks_from_h5(side.path, seqid, length, coordinates=coordinates,
                              padding_first=side.padding_first, pool_size=pool_size)


def basewise_comparison(reference: Side, prediction: Side, lengths: dict, regions: dict | None,
                        pool_size: int = 9, on_sequence=None) -> BasewiseMetrics:
    """Accumulate base-wise metrics over every selected sequence and both strands."""
    for side in (reference, prediction):
        if side.kind == "gff3":
            side.extra["representatives"] = representative_transcripts(side.models)
    metrics = BasewiseMetrics()
    seqids = [s for s in lengths if regions is None or s in regions]
    phase_seen = False
    for seqid in seqids:
        length = lengths[seqid]
        ref = _side_tracks(reference, seqid, length, pool_size)
        pred = _side_tracks(prediction, seqid, length, pool_size)
        region_mask = None
        if regions is not None and regions.get(seqid) is not None:
            region_mask = np.zeros(length, bool)
            for s, e in regions[seqid]:
                region_mask[s:min(e, length)] = True
        for strand in ("+", "-"):
            mask = ref[strand].mask & pred[strand].mask
            if region_mask is not None:
                mask &= region_mask
            metrics.genic.update(ref[strand].classes[mask], pred[strand].classes[mask])
            phase_mask = mask & (ref[strand].phases >= 0) & (pred[strand].phases >= 0)
            if phase_mask.any():
                metrics.phase.update(ref[strand].phases[phase_mask], pred[strand].phases[phase_mask])
                phase_seen = True
        if on_sequence is not None:
            on_sequence(seqid)
    metrics.has_phase = phase_seen
    return metrics


def basewise_summary(metrics: BasewiseMetrics) -> dict:
    scores = metrics.genic.scores()
    summary = {
        "bases": metrics.genic.total,
        "genic_f1": metrics.genic_f1,
        "cds_f1": scores["exon"]["f1"],
        "intron_f1": scores["intron"]["f1"],
        "utr_f1": scores["utr"]["f1"],
        "cds_intron_f1": scores["sub_genic"]["f1"],
        "accuracy": None if math.isnan(metrics.genic.accuracy()) else metrics.genic.accuracy(),
    }
    summary["phase_f1"] = metrics.phase_f1 if metrics.has_phase else None
    return summary


def evaluate(reference, prediction, fasta=None, sequences=None, genome_h5=None, stop_codons: str = "auto",
             padded_minus: str = "auto", pool_size: int = 9) -> dict:
    """Compare `prediction` with `reference`; returns the JSON-ready result (see docs/evaluation.md)."""
    from helixtune.genome.fasta import iter_fasta

    genome = dict(iter_fasta(fasta)) if fasta else None
    regions = parse_regions(sequences)
    ref = load_side(reference, genome, stop_codons, genome_h5, padded_minus)
    pred = load_side(prediction, genome, stop_codons, genome_h5, padded_minus)
    if ref.kind == "predictions":
        raise HelixtuneError(f"{reference}: the reference must be a GFF3 or an annotated h5 (data/y), "
                             "not a predictions file")
    if pred.kind == "predictions" and pred.coordinates is None:
        # the file predicted from (recorded by upstream and helixtune) describes the rows best
        pred.coordinates = recorded_test_data(pred.path) or ref.coordinates
        if pred.coordinates is None:
            raise HelixtuneError(f"{prediction}: a predictions file without data/start_ends needs --genome-h5")
    if genome is not None and regions is not None:
        missing = [s for s in regions if s not in genome]
        if missing:
            raise HelixtuneError(f"--sequences: '{missing[0]}' is not a sequence of {fasta}")
    for side in (ref, pred):
        if side.models is not None:
            side.models = select(side.models, regions)

    lengths = _sequence_lengths(ref, pred, genome)
    _refuse_disjoint_sequences(ref, pred)
    if genome is not None or any(side.coordinates for side in (ref, pred)):  # lengths known, not guessed
        for side in (ref, pred):
            _refuse_models_beyond_ends(side, lengths)
    if regions is not None:
        unknown = [s for s in regions if s not in lengths]
        if len(unknown) == len(regions):
            raise HelixtuneError(f"--sequences: none of {', '.join(unknown)} occurs in the inputs")
    metrics = basewise_comparison(ref, pred, lengths, regions, pool_size)
    result = {
        "reference": ref.describe(),
        "prediction": pred.describe(),
        "sequences": sorted(lengths if regions is None else [s for s in regions if s in lengths]),
        "regions": None if regions is None else {k: v for k, v in regions.items()},
        "basewise": {"summary": basewise_summary(metrics), **metrics.to_dict()},
        "features": None,
        "genes_by_introns": None,
        "sanity": {},
    }
    if ref.models is not None and pred.models is not None:
        result["features"] = compare_features(ref.models, pred.models)
        result["genes_by_introns"] = gene_scores_by_introns(ref.models, pred.models)
    for name, side in (("reference", ref), ("prediction", pred)):
        if side.models is not None:
            result["sanity"][name] = sanity_panel(side.models, genome)
    result["_sides"] = (ref, pred, genome)  # for the report; dropped from the JSON
    return result


# ---- terminal table ---------------------------------------------------------------------------------

def _f(value, digits=4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def format_result(result: dict, full_tables: bool = False) -> str:
    from helixtune.evaluate.basewise import format_table

    lines = [f"reference:  {result['reference']['path']} ({result['reference']['kind']})",
             f"prediction: {result['prediction']['path']} ({result['prediction']['kind']})"]
    for name in ("reference", "prediction"):
        if "stop_codons" in result[name]:
            lines.append(f"stop codons ({name}): {result[name]['stop_codons']}")
    bw = result["basewise"]
    scores = bw["genic_base_wise"]["scores"]
    rows = [["base-wise", "Precision", "Recall", "F1"]]
    for key, label in (("genic", "genic (UTR+CDS+intron)"), ("exon", "CDS"), ("intron", "intron"),
                       ("utr", "UTR"), ("sub_genic", "CDS+intron"), ("ig", "intergenic")):
        s = scores[key]
        rows.append([label, _f(s["precision"]), _f(s["recall"]), _f(s["f1"])])
    if "phase_base_wise" in bw:
        rows.append(["phase (0-2 pooled)", "", "", _f(bw["summary"]["phase_f1"])])
    lines.append(format_table(rows, f"bases compared: {bw['summary']['bases']}"))
    if full_tables:
        from helixtune.evaluate.basewise import genic_confusion_matrix, phase_confusion_matrix

        lines.append(genic_confusion_matrix(bw["genic_base_wise"]["confusion_matrix"]).format_tables())
        if "phase_base_wise" in bw:
            lines.append(phase_confusion_matrix(bw["phase_base_wise"]["confusion_matrix"]).format_tables())
    if result["features"] is not None:
        rows = [["feature level (coding)", "Sensitivity", "Precision", "F1", "reference", "predicted"]]
        for level, s in result["features"].items():
            rows.append([level, _f(s["sensitivity"]), _f(s["precision"]), _f(s["f1"]), str(s["reference"]),
                         str(s["predicted"])])
        lines.append(format_table(rows, "gffcompare-style"))
        rows = [["genes by CDS introns", "Sensitivity", "Precision", "F1", "reference", "predicted"]]
        for introns, s in result["genes_by_introns"].items():
            rows.append([introns, _f(s["sensitivity"]), _f(s["precision"]), _f(s["f1"]), str(s["reference"]),
                         str(s["predicted"])])
        lines.append(format_table(rows, "gene level by intron count"))
    else:
        lines.append("feature level: needs gene models (GFF3) on both sides")
    if result["sanity"]:
        names = list(result["sanity"])
        keys = [k for k in result["sanity"][names[0]] if k != "stop_codon_normalisation"]
        rows = [["sanity"] + names] + [[k] + [_f(result["sanity"][n].get(k), 3) for n in names] for k in keys]
        lines.append(format_table(rows, "sanity"))
    return "\n".join(lines)


def json_ready(result: dict) -> dict:
    """The result without internal objects, NaN replaced by None."""
    def clean(value):
        if isinstance(value, dict):
            return {str(k): clean(v) for k, v in value.items() if not str(k).startswith("_")}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        if isinstance(value, float) and math.isnan(value):
            return None
        if isinstance(value, (np.integer,)):
            return int(value)
        if isinstance(value, (np.floating,)):
            return None if math.isnan(value) else float(value)
        if isinstance(value, Path):
            return str(value)
        return value
    return clean(result)
