"""`helixtune example-data`: copy the small real genome shipped with the package, for a first run."""

from __future__ import annotations



def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "example-data", help="copy the bundled example genomes and annotations (Micromonas 260 kbp, S. pombe "
                             "300 kbp) into a folder",
        description="Copy the small real example genomes and their reference annotations into a folder, to try "
                    "every command on real data: three Micromonas pusilla scaffolds (260,116 bp) and three pieces "
                    "of S. pombe chromosome I (300,515 bp; the data of `helixtune self-train --example`).")
    parser.add_argument("destination", help="folder to copy the files into (created if needed)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from helixtune.data import copy_examples

    for path in copy_examples(args.destination):
        print(path)
    return 0
