"""`helixtune example-data`: copy the small real genome shipped with the package, for a first run."""

from __future__ import annotations

import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "example-data", help="copy the bundled example genome and annotation (Micromonas, 260 kbp) into a folder",
        description="Copy the small real example genome (three Micromonas pusilla scaffolds, 260,116 bp) and its "
                    "reference annotation into a folder, to try every command on real data.")
    parser.add_argument("destination", help="folder to copy the files into (created if needed)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from helixtune.data import copy_examples

    for path in copy_examples(args.destination):
        print(path)
    return 0
