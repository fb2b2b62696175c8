"""Fixtures for the annotation tests: the Micromonas test data and small GFF3 variants cut from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.annotation.gffcases import MICROMONAS


@pytest.fixture(scope="session")
def micromonas() -> dict[str, Path]:
    return {"gff3": MICROMONAS / "mini_test_data.gff", "fasta": MICROMONAS / "mini_test_data.fa",
            "reference": MICROMONAS / "micromonas_mini.geenuff2h5.h5"}


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
