"""`helixtune gff2h5`: GFF3 + FASTA -> annotated training h5 in one go (import + export, temporary database)."""

from __future__ import annotations

from helixtune.cli.export import add_export_arguments, with_x
from helixtune.cli.import_gff import add_import_arguments


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "gff2h5", help="GFF3 + FASTA straight to an annotated training h5 (import + export)",
        description="Run `import` into a temporary database and `export` from it; prints both summaries.")
    add_import_arguments(parser)
    parser.add_argument("--h5-output-path", "--output", "-o", dest="h5_output_path", required=True,
                        help="annotated h5 to write (must end with .h5)")
    add_export_arguments(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    from helixtune.annotation.pipeline import gff_to_h5

    imported, exported = gff_to_h5(args.gff3, args.fasta, args.h5_output_path, args.species,
                                   subsequence_length=args.subsequence_length, compression=args.compression,
                                   with_x=with_x(args.modes), sequence_order=args.sequence_order,
                                   log_file=args.log_file,
                                   min_intron_length=args.min_intron_length, accession=args.accession,
                                   version=args.genome_version, acquired_from=args.acquired_from,
                                   utr_annotated=args.utr_annotated, partial_genes=args.partial_genes)
    print("\n".join(imported.lines()))
    print("\n".join(exported.lines()))
    return 0
