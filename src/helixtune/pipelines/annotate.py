"""FASTA -> GFF3 in one call (`helixtune annotate`), as upstream Helixer.py: encode -> predict -> decode.

Defaults follow Helixer.py (docs/pseudolabels.md): overlapping prediction on (offset L/2, core 3L/4), batch
32, HelixerPost's window 100, edge 0.1, peak 0.8 and minimum coding length 100 (Helixer.py's code; its
docs say 60). The subsequence length comes from `--subsequence-length`, else from `--lineage` (upstream's
table, genome/lengths.py), else from the model file's training data when it records it, else the default
length. Intermediate files live in a temporary directory that is removed at the end, also after an error;
the GFF3 appears under its final name only when complete.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from helixtune.decode.options import DecodeOptions
from helixtune.errors import HelixtuneError, InputFileError
from helixtune.genome.lengths import subsequence_length as _subsequence_length

# annotate's decoder when none is named: the genome decoder (adapting its statistics to the genome), which on
# S. pombe chromosome I turns the bundled model's predictions into gene models with gene F1 0.648 where
# HelixerPost's decoder reaches 0.453, in 36 s against 827 s (bench/decode_genome_vs_helixerpost.py, docs/decode.md)
ANNOTATE_DECODER = "genome"


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
    """L as given, else the lineage's, else what the loaded model was trained on, else the default."""
    trained = model_training_subsequence_length(loaded) if subsequence_length is None and lineage is None else None
    return _subsequence_length(subsequence_length, lineage, trained, pool_size)


def annotate(fasta, model_path, gff_output_path, species: str | None = None, subsequence_length: int | None = None,
             lineage: str | None = None, overlap: bool = True, overlap_offset: int | None = None,
             overlap_core_length: int | None = None, batch_size: int = 32, device: str = "cpu",
             threads: int | None = None, decode_options: DecodeOptions | None = None, temporary_dir=None,
             compression: str = "gzip", bam=None, strandedness: str | None = None,
             pretrained_model_path=None) -> AnnotateSummary:
    """Annotate the genome in `fasta` with the model; write GFF3 to `gff_output_path`.

    `decode_options`: the thresholds, the decoder, its parameters and intron hints (`DecodeOptions`); default:
    Helixer.py's thresholds with the genome decoder (`ANNOTATE_DECODER`) and its bundled fungal parameters. A
    model that carries its own genome-decoder statistics (fitted on its training labels) is decoded with them
    when the options give no parameters.

    `bam` + `strandedness`: RNA-seq alignments for a model that takes coverage input (added to the
    temporary genome file with add-coverage, dataset prefix `rnaseq`).
    """
    import time

    from helixtune.atomic import check_output_file, output_folder, scratch_folder
    from helixtune.genome.encode import encode_fasta
    from helixtune.model.loading import open_model
    from helixtune.predict.overlap import overlap_parameters
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
    if overlap:  # checked before the genome is encoded (predict checks again)
        try:
            overlap_parameters(length, overlap_offset, overlap_core_length)
        except ValueError as err:
            raise HelixtuneError(f"{err} (--overlap-offset, --overlap-core-length)") from None
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
        # a model tuned on a species' labels carries its statistics (train --decoder-statistics); predict wrote
        # them into the predictions, and the genome decoder uses them when the options give no parameters
        decoded = decode_to_gff3(genome_h5, predictions_h5, gff_output_path, species=species, threads=threads,
                                 options=decode_options or DecodeOptions(decoder=ANNOTATE_DECODER))
        if decoded.model_statistics:
            _log("annotate: decoded with the model's own decoder statistics")
        done = time.perf_counter()
    return AnnotateSummary(str(gff_output_path), species, length, encoded.n_sequences, encoded.n_bases,
                           decoded.genes, encoded_at - started, predicted_at - encoded_at, done - predicted_at)
