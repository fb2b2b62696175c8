"""`helixtune add-coverage`: RNA-seq (CAGE, ATAC) coverage from BAM files into a data h5, as upstream add_ngs_coverage.py."""

from __future__ import annotations

import sys

from helixtune.cli.strandedness import add_strandedness_group


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "add-coverage", aliases=["add_ngs_coverage"],
        help="add per-base read coverage tracks from sorted, indexed BAM files to a data h5",
        description="Count per-base coverage (CIGAR M/=/X) and spliced coverage (N/D) per mRNA strand from "
                    "sorted, indexed BAM files and store them, one track per BAM, as "
                    "evaluation/<prefix>_coverage and evaluation/<prefix>_spliced_coverage in the data h5 "
                    "(upstream add_ngs_coverage.py layout). The h5 file is replaced only when complete.")
    parser.add_argument("-b", "--bam", nargs="+", required=True,
                        help="one or more coordinate-sorted, indexed BAM files of one library protocol "
                             "(their order is the track order)")
    parser.add_argument("-d", "--h5-data", required=True,
                        help="data h5 (genome or training data) to add the coverage to")
    parser.add_argument("--dataset-prefix", default="rnaseq",
                        help="datasets become evaluation/<prefix>_(spliced_)coverage (default rnaseq, the name "
                             "models with --input-coverage read)")
    add_strandedness_group(parser, required=True, what="library",
                           notes={"unstranded": ": reads stay on their alignment strand"})
    parser.add_argument("-s", "--species", default=None,
                        help="add coverage only to rows of this species (required when the file has several)")
    parser.add_argument("--threads", type=int, default=1,
                        help="worker processes counting coverage (default 1)")
    parser.add_argument("--shift", action="store_true",
                        help="ATAC-seq: move reads to the Tn5 cut site (+4 on plus, -5 on minus); unstranded only")
    parser.set_defaults(func=run)


def run(args) -> int:
    from helixtune.coverage import add_coverage

    summary = add_coverage(args.h5_data, args.bam, args.strandedness, prefix=args.dataset_prefix,
                           threads=args.threads, species=args.species, shift=args.shift)
    for bam, reads, skipped in zip(summary.bam_files, summary.reads_per_bam, summary.skipped_per_bam):
        print(f"{bam}: {reads:,} alignments counted, {skipped:,} skipped (unmapped, secondary or QC-failed)",
              file=sys.stderr)
    print(f"added {len(summary.bam_files)} track(s) ({summary.strandedness}) to {summary.rows_written} subsequences: "
          f"{summary.h5_path} evaluation/{summary.prefix}_coverage now has {summary.n_tracks_total} track(s)",
          file=sys.stderr)
    return 0
