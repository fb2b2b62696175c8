"""`helixtune evaluate`: compare a predicted annotation with a reference (base-wise and feature level)."""

from __future__ import annotations

import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate", help="compare a prediction with a reference annotation: base-wise and gene/exon/intron scores",
        description="Compare a prediction with a reference. Each may be a GFF3 file, an annotated h5 (data/y) or, "
                    "for the prediction, a predictions h5. Prints upstream Helixer's base-wise metrics (genic F1, "
                    "per-class and phase scores), gffcompare-style scores of the coding part (CDS bases, CDS "
                    "exons, introns, intron chains, transcripts, genes) and a sanity panel; optionally writes "
                    "JSON and an HTML report with plots.")
    parser.add_argument("--reference", "-r", required=True, help="reference: GFF3 (plain/gzip) or annotated h5")
    parser.add_argument("--prediction", "-p", required=True,
                        help="prediction: GFF3, annotated h5 or predictions h5")
    parser.add_argument("--fasta", "-g", help="genome FASTA: sequence lengths, stop-codon normalisation, splice "
                                              "sites and in-frame stops in the sanity panel")
    parser.add_argument("--sequences", nargs="+", metavar="SEQ[:START-END]",
                        help="evaluate only these sequences or regions (1-based, inclusive); transcripts count "
                             "when their CDS overlaps a region")
    parser.add_argument("--genome-h5", help="genome or annotated h5 giving seqids/start_ends for a predictions h5 "
                                            "(default: the reference when it is an h5)")
    parser.add_argument("--stop-codons", choices=("auto", "include", "as-is"), default="auto",
                        help="bring both sides to 'stop codon inside the CDS' (auto: from stop_codon features, "
                             "or from the genome when most CDS of a file lack it; default auto)")
    parser.add_argument("--padded-minus-layout", choices=("auto", "genome", "helixer-0.3.6"), default="auto",
                        help="layout of padded minus-strand chunks in a predictions h5: auto (default) reads the "
                             "attribute helixtune predict writes and assumes helixer-0.3.6 (padding first) for "
                             "upstream files; genome: real bases first")
    parser.add_argument("--pool-size", type=int, default=9,
                        help="timestep width for upstream's sample-weight pooling of annotated h5 (default 9)")
    parser.add_argument("--json", dest="json_path", help="write all metrics as JSON to this file")
    parser.add_argument("--report", dest="report_dir", help="write report.html, metrics.json and plots to this folder")
    parser.add_argument("--probabilities", help="predictions h5 whose class probabilities are drawn in the report's "
                                                "loci (when the prediction is a GFF3)")
    parser.add_argument("--coverage-h5", help="h5 with evaluation/<prefix>_coverage to draw in the report's loci")
    parser.add_argument("--loci", type=int, default=4, help="number of loci drawn in the report (default 4)")
    parser.add_argument("--tables", action="store_true", help="also print upstream's full confusion-matrix tables")
    parser.set_defaults(func=run)


def run(args) -> int:
    from helixtune.evaluate.compare import format_result
    from helixtune.evaluate.report import run_evaluation

    result = run_evaluation(args.reference, args.prediction, fasta=args.fasta, sequences=args.sequences,
                            genome_h5=args.genome_h5, stop_codons=args.stop_codons,
                            padded_minus=args.padded_minus_layout, pool_size=args.pool_size, json_path=args.json_path,
                            report_dir=args.report_dir, probabilities=args.probabilities,
                            coverage_h5=args.coverage_h5, n_loci=args.loci)
    print(format_result(result, full_tables=args.tables))
    if args.json_path:
        print(f"metrics written to {args.json_path}", file=sys.stderr)
    if args.report_dir:
        print(f"report written to {result['report']}", file=sys.stderr)
    return 0
