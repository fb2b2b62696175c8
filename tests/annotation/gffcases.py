"""Small GFF3 variants cut from the Micromonas test data, for the annotation tests."""

from __future__ import annotations

from pathlib import Path

MICROMONAS = Path(__file__).resolve().parents[1] / "data" / "micromonas"
FIRST_SEQID = "NW_003315902.1"  # 5,431 bp, one minus-strand gene (file lines 10-18)


def first_scaffold_lines() -> list[str]:
    """The GFF3 lines of the first scaffold (header included), as in the file."""
    lines = (MICROMONAS / "mini_test_data.gff").read_text().splitlines(keepends=True)
    out = []
    for line in lines:
        if line.startswith("##sequence-region") and FIRST_SEQID not in line:
            break
        out.append(line)
    return out
