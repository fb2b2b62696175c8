"""Small real inputs for the fault tests, made once per session from the data shipped in tests/data.

The folder is read-only for the tests by convention: a test copies what it changes into its own tmp_path.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sharedpaths import TEST_DATA
from helixtune.cli import main

PSEUDOLABEL = TEST_DATA / "pseudolabel"
FASTA = PSEUDOLABEL / "spombe_chrI_200000-240000.fa"  # 40 kbp of S. pombe chromosome I
GFF3 = PSEUDOLABEL / "spombe_chrI_200000-240000.reference.gff3"
LENGTH = 999  # a multiple of the pool size 9, so that everything is small and quick


@pytest.fixture(scope="session")
def inputs(tmp_path_factory) -> Path:
    """genome.fa, reference.gff3, genome.h5, predictions.h5, labels.h5, data/{training,validation}_data.h5,
    decoded.gff3 (the decoder's cache is warm after this), all for one 40-kbp piece of S. pombe."""
    folder = tmp_path_factory.mktemp("inputs")
    shutil.copyfile(FASTA, folder / "genome.fa")
    shutil.copyfile(GFF3, folder / "reference.gff3")
    run = lambda *args: main([str(a) for a in args])  # noqa: E731
    assert run("encode", "--fasta", folder / "genome.fa", "-o", folder / "genome.h5", "--species", "Spombe",
               "--subsequence-length", LENGTH) == 0
    assert run("predict", "-l", "bundled", "-t", folder / "genome.h5", "-p", folder / "predictions.h5") == 0
    assert run("gff2h5", "--gff3", folder / "reference.gff3", "--fasta", folder / "genome.fa", "--species", "Spombe",
               "--h5-output-path", folder / "labels.h5", "--subsequence-length", LENGTH) == 0
    assert run("split", "-i", folder / "labels.h5", "-o", f"{folder}/data/", "--region-bp", 10000) == 0
    assert run("decode", folder / "genome.h5", folder / "predictions.h5", folder / "decoded.gff3") == 0
    return folder


@pytest.fixture
def work(tmp_path, inputs) -> Path:
    """A fresh folder with copies of the inputs, for a test that may damage or lock them."""
    for path in inputs.iterdir():
        if path.is_file():
            shutil.copyfile(path, tmp_path / path.name)
    shutil.copytree(inputs / "data", tmp_path / "data")
    return tmp_path
