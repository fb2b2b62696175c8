"""Input that used to be accepted silently (or explained misleadingly) is refused with one line naming the file."""

from __future__ import annotations

import gzip

import h5py
import numpy as np
import pytest
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from clirun import assert_clean_failure, leftovers, run_helixtune, snapshot
from helixtune.data import bundled_model_path

BEYOND_END = ("chrI_200000_240000\tx\tgene\t30000\t1000000000\t.\t+\t.\tID=big\n"
              "chrI_200000_240000\tx\tmRNA\t30000\t1000000000\t.\t+\t.\tID=big.1;Parent=big\n"
              "chrI_200000_240000\tx\tCDS\t30000\t1000000000\t.\t+\t0\tID=big.1.c;Parent=big.1\n")


def refused(work, *args, mentions=None, code=1) -> str:
    before = snapshot(work)
    line = assert_clean_failure(run_helixtune(*args, cwd=work), code, mentions=mentions)
    assert snapshot(work) == before and not leftovers(work)
    return line


def test_evaluate_feature_beyond_the_sequence_end(work):
    (work / "beyond.gff3").write_text((work / "decoded.gff3").read_text() + BEYOND_END)
    line = refused(work, "evaluate", "-r", "reference.gff3", "-p", "beyond.gff3", "-g", "genome.fa",
                   mentions="beyond.gff3: transcript big.1")
    assert "beyond the end of the sequence (40,000 bp)" in line


@pytest.mark.parametrize("args", [
    ("evaluate", "-r", "empty.gff3", "-p", "decoded.gff3"),
    ("evaluate", "-r", "reference.gff3", "-p", "empty.h5"),
    ("gff2h5", "--gff3", "empty.gff3", "--fasta", "genome.fa", "--species", "S", "--h5-output-path", "out.h5"),
    ("encode", "--fasta", "empty.gff3", "-o", "out.h5", "--species", "S"),
], ids=["evaluate-gff3", "evaluate-h5", "gff2h5", "encode"])
def test_empty_input_file(work, args):
    (work / "empty.gff3").write_bytes(b"")
    (work / "empty.h5").write_bytes(b"")
    refused(work, *args, mentions="is empty (0 bytes)")


def test_model_with_nan_weights(work):
    source = bundled_model_path()
    with safe_open(str(source), "pt") as handle:
        metadata = handle.metadata()
    tensors = load_file(str(source))
    name = next(k for k, t in tensors.items() if t.is_floating_point())
    tensors[name].view(-1)[0] = float("nan")
    save_file(tensors, str(work / "nan.safetensors"), metadata=metadata)
    refused(work, "predict", "-l", "nan.safetensors", "-t", "genome.h5", "-p", "out.h5",
            mentions="nan.safetensors: the weights")


def nan_predictions(work) -> None:
    with h5py.File(work / "predictions.h5", "r+") as h5:
        row = h5["predictions"][0]
        row[10:20] = np.nan
        h5["predictions"][0] = row


def test_nan_predictions_given_to_evaluate(work):
    nan_predictions(work)
    refused(work, "evaluate", "-r", "labels.h5", "-p", "predictions.h5", "--genome-h5", "genome.h5",
            mentions="NaN")


def test_nan_predictions_given_to_select_confident_are_blamed(work):
    nan_predictions(work)
    line = refused(work, "select-confident", "--h5-to-filter", "labels.h5", "--predictions", "predictions.h5",
                   "--output-file", "out.h5", mentions="predictions.h5: contains NaN")
    assert "data/y" not in line


def test_evaluate_files_sharing_no_sequence(work):
    text = (work / "decoded.gff3").read_text().replace("chrI_200000_240000", "other_sequence")
    (work / "other.gff3").write_text(text)
    refused(work, "evaluate", "-r", "reference.gff3", "-p", "other.gff3", mentions="share no sequence name")


def test_split_refuses_a_genome_file(work):
    refused(work, "split", "-i", "genome.h5", "-o", "out/", mentions="genome.h5: has no labels")


def test_species_mismatch_names_the_species(work):
    assert run_helixtune("encode", "--fasta", "genome.fa", "-o", "other_species.h5", "--species", "Other",
                         "--subsequence-length", "999", cwd=work).returncode == 0
    assert run_helixtune("predict", "-l", "bundled", "-t", "other_species.h5", "-p", "other_predictions.h5",
                         cwd=work).returncode == 0
    line = refused(work, "select-confident", "--h5-to-filter", "labels.h5", "--predictions", "other_predictions.h5",
                   "--genome-h5", "other_species.h5", "--output-file", "out.h5")
    assert "species" in line and "Spombe" in line and "Other" in line, line


def test_random_bytes_named_h5(work):
    (work / "random.h5").write_bytes(np.random.default_rng(0).bytes(5000))
    refused(work, "evaluate", "-r", "reference.gff3", "-p", "random.h5", mentions="random.h5: not an HDF5 file")


def test_truncated_gzip_fasta(work):
    whole = gzip.compress((work / "genome.fa").read_bytes())
    (work / "cut.fa.gz").write_bytes(whole[:len(whole) // 50])
    line = refused(work, "encode", "--fasta", "cut.fa.gz", "-o", "out.h5", "--species", "S",
                   mentions="cut.fa.gz: corrupt or truncated gzip data")
    assert "after line 0" not in line


@pytest.mark.parametrize("command", ["gff2h5", "import"])
def test_fasta_given_as_the_annotation(work, command):
    output = ("--h5-output-path", "out.h5") if command == "gff2h5" else ("--db-path", "out.sqlite3")
    line = refused(work, command, "--gff3", "genome.fa", "--fasta", "reference.gff3", "--species", "S", *output,
                   mentions="genome.fa: looks like a FASTA file")
    assert "truncated line" not in line


def test_misspelt_bundled_model(work):
    refused(work, "predict", "-l", "bundle", "-t", "genome.h5", "-p", "out.h5", mentions="did you mean 'bundled'")

