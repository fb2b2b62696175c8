"""`helixtune annotate`: FASTA -> GFF3 in one step (encode, predict with overlap, decode), as upstream Helixer.py."""

from __future__ import annotations

import argparse
import sys

from helixtune.cli.strandedness import add_strandedness_group
from helixtune.genome.lengths import (
    DEFAULT_SUBSEQUENCE_LENGTH,
    LINEAGE_SUBSEQUENCE_LENGTHS,
    LINEAGES,
)


def add_decode_arguments(parser) -> None:
    parser.add_argument("--window-size", type=int, default=100, help="HelixerPost window size (default 100)")
    parser.add_argument("--edge-threshold", type=float, default=0.1, help="HelixerPost edge threshold (default 0.1)")
    parser.add_argument("--peak-threshold", type=float, default=0.8, help="HelixerPost peak threshold (default 0.8)")
    parser.add_argument("--min-coding-length", type=int, default=100,
                        help="drop genes with less coding sequence (default 100, as Helixer.py's code)")


def add_strandedness_arguments(parser) -> None:
    add_strandedness_group(parser, what="BAMs")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "annotate", help="annotate a genome FASTA with a model in one step (encode, predict, decode) -> GFF3",
        description="One-step gene annotation as upstream Helixer.py: encode the FASTA, predict with overlapping "
                    "windows, decode gene models with the HelixerPost HMM, write GFF3. Temporary files are removed.")
    parser.add_argument("--fasta-path", "--fasta", dest="fasta", required=True, help="genome FASTA (plain or gzip)")
    parser.add_argument("--load-model-path", "--model-filepath", "-l", dest="model", required=True,
                        help="model file (helixtune .safetensors or upstream Keras .h5)")
    parser.add_argument("--gff-output-path", "--output", "-o", dest="gff_output_path", required=True,
                        help="GFF3 file to write")
    parser.add_argument("--species", default=None, help="species name for the GFF3 and gene IDs (default: FASTA name)")
    parser.add_argument("--lineage", choices=LINEAGES, default=None,
                        help="sets the default subsequence length as Helixer.py does ("
                             + ", ".join(f"{name} {length}" for name, length in LINEAGE_SUBSEQUENCE_LENGTHS.items())
                             + ")")
    parser.add_argument("--subsequence-length", type=int, default=None,
                        help=f"bp per subsequence (default: by --lineage, else {DEFAULT_SUBSEQUENCE_LENGTH}); a "
                             "multiple of the pool size")
    parser.add_argument("--no-overlap", dest="overlap", action="store_false", help="predict without overlapping windows")
    parser.add_argument("--overlap-offset", type=int, default=None, help="default: subsequence length // 2")
    parser.add_argument("--overlap-core-length", type=int, default=None, help="default: 3/4 of the subsequence length")
    parser.add_argument("--batch-size", type=int, default=32, help="windows per network call (default 32)")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N or auto")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: all)")
    parser.add_argument("--temporary-dir", default=None, help="where the intermediate h5 files go (default: beside "
                                                              "the GFF3 output)")
    parser.add_argument("--bam", nargs="+", default=None,
                        help="RNA-seq BAMs for a model that takes coverage input (same order as in training)")
    add_strandedness_arguments(parser)
    parser.add_argument("--pretrained-model-path", default=None, help="upstream Keras coverage models: their base")
    add_decode_arguments(parser)
    from helixtune.cli.decode import add_genome_decoder_arguments
    from helixtune.pipelines.annotate import ANNOTATE_DECODER

    # the genome decoder by default: on S. pombe chromosome I it gives gene F1 0.648 where HelixerPost's gives
    # 0.453 from the same predictions (docs/decode.md); `decode` keeps HelixerPost's for byte-identical output
    add_genome_decoder_arguments(parser, default=ANNOTATE_DECODER)
    parser.add_argument("--compression", choices=("gzip", "lzf"), default="gzip", help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def run(args) -> int:
    from helixtune.cli.decode import genome_decoder_keywords
    from helixtune.decode.options import DecodeOptions
    from helixtune.errors import HelixtuneError
    from helixtune.pipelines.annotate import annotate

    if args.bam and not args.strandedness:
        raise HelixtuneError("--bam needs one of --second-read-is-sense-strand, --first-read-is-sense-strand, "
                             "--unstranded")
    summary = annotate(args.fasta, args.model, args.gff_output_path, species=args.species,
                       subsequence_length=args.subsequence_length, lineage=args.lineage, overlap=args.overlap,
                       overlap_offset=args.overlap_offset, overlap_core_length=args.overlap_core_length,
                       batch_size=args.batch_size, device=args.device, threads=args.threads,
                       decode_options=DecodeOptions(args.window_size, args.edge_threshold, args.peak_threshold,
                                                    args.min_coding_length, **genome_decoder_keywords(args)),
                       temporary_dir=args.temporary_dir, compression=args.compression, bam=args.bam,
                       strandedness=args.strandedness, pretrained_model_path=args.pretrained_model_path)
    print(f"annotated {summary.sequences} sequences ({summary.bases:,} bp, subsequence length "
          f"{summary.subsequence_length}): {summary.genes} genes in {summary.gff_path} "
          f"(encode {summary.seconds_encode:.1f} s, predict {summary.seconds_predict:.1f} s, "
          f"decode {summary.seconds_decode:.1f} s)", file=sys.stderr)
    return 0
