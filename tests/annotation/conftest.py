"""Helpers for the annotation tests: the Micromonas test data and small GFF3 variants cut from it."""

from __future__ import annotations

from pathlib import Path

import pytest

MICROMONAS = Path(__file__).resolve().parents[1] / "data" / "micromonas"
FIRST_SEQID = "NW_003315902.1"  # 5,431 bp, one minus-strand gene (file lines 10-18)


@pytest.fixture(scope="session")
def micromonas() -> dict[str, Path]:
    return {"gff3": MICROMONAS / "mini_test_data.gff", "fasta": MICROMONAS / "mini_test_data.fa",
            "reference": MICROMONAS / "micromonas_mini.geenuff2h5.h5"}


def first_scaffold_lines() -> list[str]:
    """The GFF3 lines of the first scaffold (header included), as in the file."""
    lines = (MICROMONAS / "mini_test_data.gff").read_text().splitlines(keepends=True)
    out = []
    for line in lines:
        if line.startswith("##sequence-region") and FIRST_SEQID not in line:
            break
        out.append(line)
    return out


@pytest.fixture
def small_case(tmp_path):
    """Write (gff3 text lines, FASTA of the first scaffold) into tmp_path; returns paths."""
    fasta_lines = (MICROMONAS / "mini_test_data.fa").read_text().split(">")[1]
    fasta = tmp_path / "scaffold.fa"
    fasta.write_text(">" + fasta_lines)

    def make(lines: list[str]) -> tuple[Path, Path]:
        gff3 = tmp_path / "case.gff3"
        gff3.write_text("".join(lines))
        return gff3, fasta

    return make
