"""An output path that names an input is refused before anything is written, however it is spelled."""

from __future__ import annotations

import hashlib
import os

import pytest

from clirun import assert_clean_failure, leftovers, run_helixtune


def digest(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


CASES = {
    "encode": ("encode", "--fasta", "genome.fa", "-o", "{same}", "--species", "S"),
    "predict": ("predict", "-l", "bundled", "-t", "genome.h5", "-p", "{same}"),
    "decode": ("decode", "genome.h5", "predictions.h5", "{same}"),
    "decode-7": ("decode", "genome.h5", "predictions.h5", "100", "0.1", "0.8", "60", "{same}"),
    "gff2h5": ("gff2h5", "--gff3", "reference.gff3", "--fasta", "genome.fa", "--species", "S",
               "--h5-output-path", "{same}"),
    "select-confident": ("select-confident", "--h5-to-filter", "labels.h5", "--predictions", "predictions.h5",
                         "--output-file", "{same}"),
    "evaluate": ("evaluate", "-r", "reference.gff3", "-p", "decoded.gff3", "--json", "{same}"),
}
INPUT_OF = {"encode": "genome.fa", "predict": "genome.h5", "decode": "predictions.h5", "decode-7": "genome.h5",
            "gff2h5": "reference.gff3", "select-confident": "labels.h5", "evaluate": "reference.gff3"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_output_that_is_an_input_is_refused(work, case):
    target = INPUT_OF[case]
    before = digest(work / target)
    args = [a.format(same=target) for a in CASES[case]]
    line = assert_clean_failure(run_helixtune(*args, cwd=work), 1, mentions="would overwrite an input")
    assert target in line
    assert digest(work / target) == before and not leftovers(work)


def test_same_file_through_a_link_or_another_spelling(work):
    os.symlink(work / "genome.fa", work / "link.fa")
    before = digest(work / "genome.fa")
    for output in ("link.fa", "./data/../genome.fa", str(work / "genome.fa")):
        result = run_helixtune("encode", "--fasta", "genome.fa", "-o", output, "--species", "S", cwd=work)
        assert_clean_failure(result, 1, mentions="would overwrite an input")
    assert digest(work / "genome.fa") == before and not leftovers(work)


def test_train_does_not_overwrite_the_model_it_starts_from(work):
    from helixtune.data import bundled_model_path

    model = work / "base.safetensors"
    model.write_bytes(bundled_model_path().read_bytes())
    before = digest(model)
    result = run_helixtune("train", "-d", "data", "-l", "base.safetensors", "-s", "base.safetensors", cwd=work)
    assert_clean_failure(result, 1, mentions="would overwrite an input")
    assert digest(model) == before and not (work / "base.safetensors.run").exists()
