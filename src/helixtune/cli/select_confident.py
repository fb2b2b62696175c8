"""`helixtune select-confident`: keep the subsequences whose pseudolabels agree best with the raw predictions."""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "select-confident", aliases=["filter-to-most-certain"],
        help="keep the fraction of labelled subsequences that agree best with the raw predictions",
        description="Pseudolabel filter (upstream filter-to-most-certain.py, with its defects fixed): per "
                    "subsequence, the mean absolute difference between the labels (data/y, e.g. exported from "
                    "the decoded GFF3) and the raw predictions; subsequences are stratified by intergenic fraction "
                    "and the lowest-discrepancy ones of each stratum are kept. Rows are matched by seqid and "
                    "coordinates. Prints the distribution per stratum and writes a PNG plot of it.")
    parser.add_argument("--h5-to-filter", required=True, help="labelled h5 (data/y), e.g. the export of the decoded GFF3")
    parser.add_argument("--predictions", required=True, help="raw predictions h5 (dataset 'predictions')")
    parser.add_argument("--output-file", "--output", "-o", dest="output_file", default=None,
                        help="h5 file to write with the kept subsequences")
    parser.add_argument("--keep-fraction", type=float, default=0.2,
                        help="fraction of subsequences to keep, in (0, 1] (default 0.2)")
    parser.add_argument("--genome-h5", default=None,
                        help="genome h5 the predictions were made from, to match rows when the predictions file "
                             "has no seqids/start_ends (default: its test_data_path attribute, when that file exists)")
    parser.add_argument("--assume-aligned", action="store_true",
                        help="trust that row i of both files is the same subsequence (upstream behaviour; unchecked)")
    parser.add_argument("--predictions-layout", default="auto", choices=("auto", "genome", "helixer-0.3.6"),
                        help="where padded minus-strand chunks of the predictions have their real bases (default "
                             "auto: the file's padded_minus_layout attribute, else upstream 0.3.6's padding-first)")
    parser.add_argument("--plot", default=None,
                        help="PNG of the discrepancy distribution per stratum (default: <output-file>.selection.png)")
    parser.add_argument("--dry-run", action="store_true", help="compute and print only; write no h5 file")
    parser.add_argument("--write-by", type=int, default=None, help=argparse.SUPPRESS)  # upstream's; no effect here
    parser.set_defaults(func=run)


def run(args) -> int:
    from helixtune.pseudolabel.select import format_summary, select_confident

    plot = args.plot
    if plot is None and args.output_file is not None:
        plot = f"{args.output_file}.selection.png"
    summary = select_confident(args.h5_to_filter, args.predictions, args.output_file, args.keep_fraction,
                               genome_h5=args.genome_h5, assume_aligned=args.assume_aligned, dry_run=args.dry_run,
                               plot_path=plot, padded_minus_layout=args.predictions_layout)
    print(format_summary(summary))
    if summary.plot_path:
        print(f"plot: {summary.plot_path}", file=sys.stderr)
    if not args.dry_run:
        print(f"wrote {summary.n_kept} of {summary.n_rows} subsequences: {args.output_file}", file=sys.stderr)
    return 0
