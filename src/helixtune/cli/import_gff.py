"""`helixtune import` (alias `import2geenuff`): GFF3 + FASTA -> SQLite gene-model store with detected errors."""

from __future__ import annotations

import argparse


def add_import_arguments(parser) -> None:
    parser.add_argument("--gff3", "--gtf", required=True,
                        help="GFF3 or GTF annotation (Ensembl/GENCODE style), plain or gzip-compressed")
    parser.add_argument("--fasta", required=True, help="FASTA genome the annotation refers to, plain or gzip")
    parser.add_argument("--species", required=True, help="species name stored in the database")
    parser.add_argument("--log-file", default=None,
                        help="write every detected gene-model error and ignored line here (upstream's log format)")
    parser.add_argument("--min-intron-length", type=int, default=20,
                        help="introns shorter than this are masked as too_short_intron (default 20, upstream's)")
    parser.add_argument("--accession", default="", help="genome accession stored in the database")
    parser.add_argument("--version", dest="genome_version", default="", help="genome version stored in the database")
    parser.add_argument("--acquired-from", default="", help="genome source stored in the database")
    parser.add_argument("--utr-annotated", choices=("auto", "yes", "no"), default="auto",
                        help="whether the annotation has UTRs; 'no' leaves missing UTRs unmasked and training "
                             "reads intergenic as 'intergenic or UTR' (default auto: yes when any coding "
                             "transcript has a UTR)")
    parser.add_argument("--partial-genes", choices=("mask", "keep"), default="mask",
                        help="genes marked partial=true whose CDS lacks its start or stop codon (cut by a contig "
                             "end): mask them whole (default) or keep upstream's labels")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "import", aliases=["import2geenuff"],
        help="import a GFF3 annotation and its FASTA into an SQLite gene-model database",
        description="Parse a GFF3 annotation (genes, transcripts, exons, CDS; assembled by Parent) with its "
                    "FASTA into an SQLite gene-model database in GeenuFF's schema, recording gene-model errors "
                    "(missing UTRs, start/stop codons, bad phases, short introns, overlapping exons or genes) "
                    "that the export masks.")
    add_import_arguments(parser)
    parser.add_argument("--db-path", "--output", "-o", dest="db_path", required=True, help="SQLite database to write")
    parser.add_argument("--replace-db", action="store_true", help="overwrite an existing database")
    parser.add_argument("--config-file", help=argparse.SUPPRESS)  # upstream's; use --min-intron-length
    parser.set_defaults(func=run)


def run(args) -> int:
    from helixtune.annotation.importer import import_gff

    summary = import_gff(args.gff3, args.fasta, args.db_path, args.species, accession=args.accession,
                         version=args.genome_version, acquired_from=args.acquired_from, log_file=args.log_file,
                         min_intron_length=args.min_intron_length, replace=args.replace_db,
                         utr_annotated=args.utr_annotated, partial_genes=args.partial_genes)
    print(f"imported into {args.db_path}")
    print("\n".join(summary.lines()))
    return 0
