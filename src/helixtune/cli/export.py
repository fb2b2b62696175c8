"""`helixtune export` (alias `geenuff2h5`): SQLite gene-model store -> annotated training h5."""

from __future__ import annotations

import argparse

from helixtune.genome.lengths import DEFAULT_SUBSEQUENCE_LENGTH


def add_export_arguments(parser) -> None:
    parser.add_argument("--subsequence-length", type=int, default=DEFAULT_SUBSEQUENCE_LENGTH,
                        help=f"length of each subsequence in bp (default {DEFAULT_SUBSEQUENCE_LENGTH})")
    parser.add_argument("--compression", choices=("gzip", "lzf"), default="gzip", help="h5 compression (default gzip)")
    parser.add_argument("--modes", default="all",
                        help="'all' (default) or a comma list of X,y,anno_meta,transitions; as upstream, only "
                             "leaving out X changes the output (no data/X)")
    parser.add_argument("--sequence-order", choices=("length", "fasta"), default="length",
                        help="'length' (default): upstream geenuff2h5's order, longest sequence first; 'fasta': "
                             "FASTA order, row by row like `encode` genome files and predictions made on them")
    parser.add_argument("--write-by", type=int, default=None, help=argparse.SUPPRESS)  # output does not depend on it
    parser.add_argument("--no-multiprocess", action="store_true", help=argparse.SUPPRESS)


def with_x(modes: str) -> bool:
    return modes == "all" or "X" in [m.strip() for m in modes.split(",")]


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "export", aliases=["geenuff2h5"],
        help="export a gene-model database to an annotated training h5 (labels + sequence)",
        description="Write data/X, y, phases, transitions, sample_weights (0 in gene-model error regions and "
                    "padding), gene_lengths, per-subsequence flags, seqids, start_ends and species, exactly as "
                    "upstream geenuff2h5.py, and print a label-quality summary.")
    parser.add_argument("--input-db-path", required=True, help="SQLite gene-model database (from `import`)")
    parser.add_argument("--h5-output-path", "--output", "-o", dest="h5_output_path", required=True,
                        help="annotated h5 to write (must end with .h5)")
    parser.add_argument("--fasta", default=None,
                        help="take data/X from this FASTA (checked against the database) instead of the sequences "
                             "stored in the database")
    add_export_arguments(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    from helixtune.annotation.export import export_h5

    summary = export_h5(args.input_db_path, args.h5_output_path, subsequence_length=args.subsequence_length,
                        compression=args.compression, with_x=with_x(args.modes), fasta=args.fasta,
                        sequence_order=args.sequence_order)
    print("\n".join(summary.lines()))
    return 0
