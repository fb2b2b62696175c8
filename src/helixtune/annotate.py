"""FASTA -> GFF3 in one call (`helixtune annotate`), as upstream Helixer.py: encode -> predict -> decode.

Defaults follow Helixer.py (spec section 8): overlapping prediction on (offset L/2, core 3L/4), batch 32,
HelixerPost's window 100, edge 0.1, peak 0.8 and minimum coding length 100 (Helixer.py's code; its
docs say 60). The subsequence length comes from `--subsequence-length`, else from `--lineage` (upstream's
table), else from the model file's training data when it records it, else 21384. Intermediate files live
in a temporary directory that is removed at the end, also after an error; the GFF3 appears under its
final name only when complete.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from helixtune.errors import HelixtuneError, InputFileError

LINEAGE_SUBSEQUENCE_LENGTHS = {"vertebrate": 213840, "land_plant": 64152, "fungi": 21384, "invertebrate": 213840}
DEFAULT_SUBSEQUENCE_LENGTH = 21384
# annotate's decoder when none is named: the genome decoder, which on S. pombe chromosome I turns the bundled
# model's predictions into gene models with gene F1 0.306 where HelixerPost's decoder reaches 0.038
# (bench/decode_genome_vs_helixerpost.py, docs/decode.md)
ANNOTATE_DECODER = "genome"


@dataclass
class DecodeOptions:
    """HelixerPost's positional parameters, with Helixer.py's defaults; the decoder and its parameter file."""

    window_size: int = 100
    edge_threshold: float = 0.1
    peak_threshold: float = 0.8
    min_coding_length: int = 100
    decoder: str = "helixerpost"  # or "genome" (see docs/decode.md)
    params: str | None = None  # genome decoder parameter file (None: the bundled one)

    def keywords(self) -> dict:
        """`decode_to_gff3` keywords; the decoder fields only when not the defaults (so pipeline step keys
        recorded before they existed still match)."""
        import dataclasses

        values = dataclasses.asdict(self)
        for name in ("decoder", "params"):
            if values[name] == getattr(DecodeOptions, name):
                del values[name]
        return values


@dataclass
class AnnotateSummary:
    gff_path: str
    species: str
    subsequence_length: int
    sequences: int
    bases: int
    genes: int
    seconds_encode: float
    seconds_predict: float
    seconds_decode: float


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def default_species(fasta) -> str:
    """The FASTA file name without its extensions (e.g. `Spombe` for Spombe.fa.gz)."""
    name = Path(fasta).name
    for suffix in (".gz", ".bgz", ".fasta", ".fa", ".fna", ".fas"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name or "unknown"


def model_training_subsequence_length(loaded) -> int | None:
    """L of the data a helixtune model was trained on, when its metadata records it."""
    metadata = getattr(loaded, "metadata", {}) or {}
    for key in ("subsequence_length", "training_subsequence_length"):
        value = metadata.get(key) or metadata.get("provenance", {}).get(key)
        if value:
            return int(value)
    return None


def choose_subsequence_length(subsequence_length, lineage, loaded, pool_size: int) -> int:
    if subsequence_length is None and lineage is not None:
        if lineage not in LINEAGE_SUBSEQUENCE_LENGTHS:
            raise HelixtuneError(f"--lineage must be one of {', '.join(LINEAGE_SUBSEQUENCE_LENGTHS)}, got '{lineage}'")
        subsequence_length = LINEAGE_SUBSEQUENCE_LENGTHS[lineage]
    if subsequence_length is None:
        subsequence_length = model_training_subsequence_length(loaded) or DEFAULT_SUBSEQUENCE_LENGTH
    subsequence_length = int(subsequence_length)
    if subsequence_length <= 0 or subsequence_length % pool_size:
        raise HelixtuneError(f"--subsequence-length {subsequence_length} must be a positive multiple of the model's "
                             f"pool size ({pool_size})")
    return subsequence_length


def annotate(fasta, model_path, gff_output_path, species: str | None = None, subsequence_length: int | None = None,
             lineage: str | None = None, overlap: bool = True, overlap_offset: int | None = None,
             overlap_core_length: int | None = None, batch_size: int = 32, device: str = "cpu",
             threads: int | None = None, decode_options: DecodeOptions | None = None, temporary_dir=None,
             compression: str = "gzip", bam=None, strandedness: str | None = None,
             pretrained_model_path=None, decoder_options: dict | None = None) -> AnnotateSummary:
    """Annotate the genome in `fasta` with the model; write GFF3 to `gff_output_path`.

    `decoder_options`: extra keywords of `decode_to_gff3` choosing the decoder (e.g. {"decoder": "helixerpost"},
    or {"decoder": "genome", "params": ..., "hints_bam": [...], "strandedness": ...}); default: the genome
    decoder (`ANNOTATE_DECODER`) with its bundled fungal parameters.

    `bam` + `strandedness`: RNA-seq alignments for a model that takes coverage input (added to the
    temporary genome file with add-coverage, dataset prefix `rnaseq`).
    """
    import time

    from helixtune.atomic import check_output_file, output_folder, scratch_folder
    from helixtune.genome.encode import encode_fasta
    from helixtune.model.loading import open_model
    from helixtune.predict.run import PredictOptions

    fasta, model_path, gff_output_path = Path(fasta), Path(model_path), Path(gff_output_path)
    if not fasta.is_file():
        raise InputFileError(fasta, "no such file")
    out_dir = check_output_file(gff_output_path).resolve().parent
    if not os.access(out_dir, os.W_OK):
        raise InputFileError(out_dir, "the output directory is not writable")
    loaded = open_model(model_path, pretrained_model_path=pretrained_model_path)
    pool_size = int(loaded.model.pool_size)
    needs_coverage = bool(loaded.coverage_datasets)
    if needs_coverage and not bam:
        raise HelixtuneError(f"{model_path}: the model takes RNA-seq coverage input; give the alignments with --bam "
                             "and their strandedness")
    if bam and not needs_coverage:
        raise HelixtuneError(f"{model_path}: the model takes no coverage input, so --bam would be ignored")
    length = choose_subsequence_length(subsequence_length, lineage, loaded, pool_size)
    species = species or default_species(fasta)
    del loaded
    options = PredictOptions(batch_size=batch_size, overlap=overlap, overlap_offset=overlap_offset,
                             overlap_core_length=overlap_core_length, device=device, threads=threads,
                             compression=compression)
    if overlap:  # upstream's checks (Helixer.py): offset divides L, core shorter than L
        offset = overlap_offset or length // 2
        core = overlap_core_length or int(3 * length / 4)
        if length % offset or not 0 < core < length or offset > core:
            raise HelixtuneError(f"--overlap-offset {offset} must divide the subsequence length {length} and be at "
                                 f"most --overlap-core-length {core}, which must be below {length}")
    base = output_folder(temporary_dir) if temporary_dir else out_dir
    with scratch_folder(base / gff_output_path.name) as tmp:
        genome_h5 = Path(tmp) / f"tmp_species_{species}.h5"
        predictions_h5 = Path(tmp) / f"tmp_predictions_{species}.h5"
        started = time.perf_counter()
        _log(f"annotate: encoding {fasta} (subsequence length {length})")
        encoded = encode_fasta(fasta, genome_h5, species, subsequence_length=length, compression=compression,
                               threads=threads)
        if bam:
            from helixtune.coverage import add_coverage

            add_coverage(genome_h5, bam, strandedness, prefix="rnaseq", threads=threads or 1)
        encoded_at = time.perf_counter()
        _log(f"annotate: predicting {encoded.n_chunks} subsequences with {model_path}"
             f"{' (overlapping windows)' if overlap else ''}")
        from helixtune.decode.pipeline import decode_to_gff3
        from helixtune.predict.run import predict

        predict(model_path, genome_h5, predictions_h5, options, pretrained_model_path=pretrained_model_path)
        predicted_at = time.perf_counter()
        _log("annotate: decoding gene models")
        decode_options = decode_options or DecodeOptions()
        decoded = decode_to_gff3(genome_h5, predictions_h5, gff_output_path, window_size=decode_options.window_size,
                                 edge_threshold=decode_options.edge_threshold,
                                 peak_threshold=decode_options.peak_threshold,
                                 min_coding_length=decode_options.min_coding_length, species=species,
                                 threads=threads, **(decoder_options or {"decoder": ANNOTATE_DECODER}))
        done = time.perf_counter()
    return AnnotateSummary(str(gff_output_path), species, length, encoded.n_sequences, encoded.n_bases,
                           decoded.genes, encoded_at - started, predicted_at - encoded_at, done - predicted_at)
