"""`helixtune split`: whole sequences to training or validation data by the N90 rule (upstream n90_train_val_split.py)."""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "split", aliases=["n90-split"],
        help="split a labelled h5 into training_data.h5 and validation_data.h5 by whole sequences (N90 rule)",
        description="Assign whole sequences (both strands) to training or validation: the largest sequences "
                    "holding 90% of the subsequences and the remaining small ones are split separately, "
                    "val-fraction of each to validation. A genome of a single sequence is split by contiguous "
                    "regions instead (see --region-bp).")
    parser.add_argument("-i", "--h5-to-split", required=True, help="labelled h5 to split")
    parser.add_argument("-o", "--output-pfx", default="./",
                        help="directory (ending in '/') or file-name prefix for training_data.h5 and "
                             "validation_data.h5 (default ./)")
    parser.add_argument("--val-fraction", type=float, default=0.2, help="fraction of sequences for validation (0.2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the draw, so runs repeat (default 0)")
    parser.add_argument("--region-bp", type=int, default=1_000_000,
                        help="when whole sequences leave validation empty, split regions of this many bp instead "
                             "(default 1000000; 0 keeps upstream's empty validation file)")
    parser.add_argument("--write-by", type=int, default=None, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def run(args) -> int:
    from helixtune.pseudolabel.split import format_summary, split

    summary = split(args.h5_to_split, args.output_pfx, val_fraction=args.val_fraction, seed=args.seed,
                    region_bp=args.region_bp or None)
    print(format_summary(summary))
    print(f"wrote {summary.training_path} and {summary.validation_path}", file=sys.stderr)
    return 0
