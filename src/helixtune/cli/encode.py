"""`helixtune encode` (alias `fasta2h5`): FASTA -> genome h5, as upstream fasta2h5.py."""

from __future__ import annotations

import argparse
import sys

from helixtune.genome.lengths import DEFAULT_SUBSEQUENCE_LENGTH


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "encode", aliases=["fasta2h5"], help="encode a FASTA genome (plain or gzip) into a genome h5 file",
        description="Encode a FASTA genome into the h5 layout of upstream fasta2h5.py: data/X (C,A,T,G with "
                    "IUPAC fractions), data/seqids, data/species, data/start_ends, cut into subsequences on both "
                    "strands.")
    parser.add_argument("--fasta-path", "--fasta", dest="fasta_path", required=True,
                        help="FASTA file, plain or gzip-compressed")
    parser.add_argument("--h5-output-path", "--output", "-o", dest="h5_output_path", required=True,
                        help="genome h5 file to write")
    parser.add_argument("--species", required=True, help="species name stored per subsequence (max 25 bytes)")
    parser.add_argument("--subsequence-length", type=int, default=DEFAULT_SUBSEQUENCE_LENGTH,
                        help=f"length of each subsequence in bp (default {DEFAULT_SUBSEQUENCE_LENGTH}; use a multiple "
                             "of the model's pool size, 9 for released models)")
    parser.add_argument("--compression", choices=("gzip", "lzf"), default="gzip", help="h5 compression (default gzip)")
    parser.add_argument("--min-sequence-length", type=int, default=0,
                        help="skip FASTA records shorter than this many bp (default 0: keep all)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for compression (default: all CPU cores)")
    # accepted for compatibility with upstream command lines; the output does not depend on them
    parser.add_argument("--write-by", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--no-multiprocess", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def run(args) -> int:
    from helixtune.genome.encode import encode_fasta

    summary = encode_fasta(args.fasta_path, args.h5_output_path, args.species,
                           subsequence_length=args.subsequence_length, compression=args.compression,
                           min_sequence_length=args.min_sequence_length, threads=args.threads)
    skipped = f", skipped {len(summary.skipped_short)} shorter than {args.min_sequence_length} bp" \
        if summary.skipped_short else ""
    print(f"encoded {summary.n_sequences} sequences, {summary.n_bases:,} bp, into {summary.n_chunks} subsequences "
          f"of {args.subsequence_length} bp{skipped}: {args.h5_output_path}", file=sys.stderr)
    return 0
