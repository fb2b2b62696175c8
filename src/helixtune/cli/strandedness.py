"""The strandedness options of an RNA-seq library, one definition for every command that reads BAM files."""

from __future__ import annotations

# (flag, value, what it means); the values are those coverage/bam.py and decode/hints.py read
LIBRARY_TYPES = (
    ("second-read-is-sense-strand", "second_read_is_sense_strand",
     "stranded, read 2 is sense (dUTP, Illumina TruSeq stranded; RF)"),
    ("first-read-is-sense-strand", "first_read_is_sense_strand", "stranded, read 1 (and single-end reads) is sense (FR)"),
    ("unstranded", "unstranded", "unstranded"),
)


def add_strandedness_group(parser, prefix: str = "", dest: str = "strandedness", required: bool = False,
                           what: str = "BAM library", notes: dict | None = None) -> None:
    """--[prefix]second-read-is-sense-strand | --[prefix]first-read-is-sense-strand | --[prefix]unstranded.

    `notes`: extra help per value (e.g. which one is the default)."""
    group = parser.add_mutually_exclusive_group(required=required)
    for flag, value, meaning in LIBRARY_TYPES:
        note = (notes or {}).get(value, "")
        group.add_argument(f"--{prefix}{flag}", dest=dest, action="store_const", const=value,
                           help=f"{what}: {meaning}{note}")
