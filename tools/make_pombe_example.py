"""Rebuild the bundled S. pombe example (`src/helixtune/data/examples/spombe_pieces.*`).

    python tools/make_pombe_example.py SP2.chr.fa.gz SP2.chrI.derived.gff3

Cuts three pieces of about 100 kbp out of S. pombe chromosome I (Trinity sample data, BSD-3), each end
moved to the nearest base outside every annotated gene so no gene is split, and writes them as separate
FASTA records (`chrI_<first>_<last>`, 1-based, inclusive) with the reference GFF3 shifted onto them.
Separate records let `helixtune split` put whole sequences into training and validation.
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import numpy as np

NOMINAL_STARTS = (1_000_000, 2_500_000, 4_000_000)  # 0-based nominal starts on chromosome I
PIECE_BP = 100_000
OUT = Path(__file__).resolve().parents[1] / "src" / "helixtune" / "data" / "examples"
NAME = "spombe_pieces"


def read_fasta(path) -> bytes:
    with gzip.open(path, "rt") as handle:
        return "".join(line.strip() for line in handle if not line.startswith(">")).encode()


def nearest_free(position: int, covered: np.ndarray) -> int:
    """The base nearest to `position` (0-based) outside every gene."""
    for step in range(len(covered)):
        for candidate in (position - step, position + step):
            if 0 <= candidate < len(covered) and not covered[candidate]:
                return candidate
    raise ValueError("no gene-free base")


def main(fasta, gff) -> None:
    sequence = read_fasta(fasta)
    lines = Path(gff).read_text().splitlines()
    covered = np.zeros(len(sequence), dtype=bool)
    for line in lines:
        fields = line.split("\t")
        if len(fields) == 9 and fields[2] == "gene":
            covered[int(fields[3]) - 1:int(fields[4])] = True
    pieces = []
    for start in NOMINAL_STARTS:
        lo = nearest_free(start, covered)
        hi = nearest_free(start + PIECE_BP, covered) + 1  # exclusive
        pieces.append((f"chrI_{lo + 1}_{hi}", lo, hi))
    with gzip.open(OUT / f"{NAME}.fa.gz", "wt", compresslevel=9) as out:
        for name, lo, hi in pieces:
            out.write(f">{name}\n")
            chunk = sequence[lo:hi].decode()
            out.writelines(chunk[i:i + 60] + "\n" for i in range(0, len(chunk), 60))
    kept = ["##gff-version 3"] + [f"##sequence-region {name} 1 {hi - lo}" for name, lo, hi in pieces]
    genes = 0
    for name, lo, hi in pieces:
        for line in lines:
            fields = line.split("\t")
            if len(fields) != 9:
                continue
            start, end = int(fields[3]) - 1, int(fields[4])
            if lo <= start and end <= hi:  # genes never cross a cut, so every feature is inside or outside
                fields[0], fields[3], fields[4] = name, str(start - lo + 1), str(end - lo)
                kept.append("\t".join(fields))
                genes += fields[2] == "gene"
    with gzip.open(OUT / f"{NAME}.gff3.gz", "wt", compresslevel=9) as out:
        out.write("\n".join(kept) + "\n")
    for name, lo, hi in pieces:
        print(f"{name}: chromosome I {lo + 1:,}-{hi:,} ({hi - lo:,} bp)")
    print(f"{genes} genes; {sum(hi - lo for _, lo, hi in pieces):,} bp")


if __name__ == "__main__":
    main(*sys.argv[1:3])
