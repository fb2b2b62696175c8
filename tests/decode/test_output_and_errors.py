"""GFF3 validity (GenomeTools), the command line in both argument forms, and one-line errors on bad input."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

from helixtune.cli import main
from helixtune.decode import decode_to_gff3

from sharedpaths import require_program
from tests.decode.synthetic_pairs import write_pair


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    folder = tmp_path_factory.mktemp("decode_synthetic")
    return write_pair(folder, 5)


def test_output_passes_genometools_validator(synthetic, test_data, tmp_path):
    gt = require_program("gt")
    outputs = []
    for name, (genome, predictions) in {
        "synthetic": synthetic,
        "example": (test_data / "decode" / "example_genome_data.h5", test_data / "decode" / "example_predictions.h5"),
        "fixture": (test_data / "decode" / "fx101_genome.h5", test_data / "decode" / "fx101_predictions.h5"),
    }.items():
        out = tmp_path / f"{name}.gff3"
        decode_to_gff3(genome, predictions, out, show_progress=False)
        outputs.append(out)
    text = outputs[0].read_text()
    assert "\t-\t" in text and "\t+\t" in text and "##sequence-region chr2 1 12000" in text
    for out in outputs:
        result = subprocess.run([gt, "gff3validator", str(out)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


def test_both_argument_forms_give_the_same_file(synthetic, tmp_path, capsys):
    genome, predictions = synthetic
    named, positional = tmp_path / "named.gff3", tmp_path / "positional.gff3"
    assert main(["decode", "--window-size", "50", "--edge-threshold", "0.05", "--peak-threshold", "0.5",
                 "--min-coding-length", "30", str(genome), str(predictions), str(named)]) == 0
    assert main(["helixer-post", str(genome), str(predictions), "50", "0.05", "0.5", "30", str(positional)]) == 0
    assert named.read_bytes() == positional.read_bytes()
    assert "genes" in capsys.readouterr().err
    # the defaults are HelixerPost's 100 0.1 0.8 60, and the species option renames genes and header
    default, renamed = tmp_path / "default.gff3", tmp_path / "renamed.gff3"
    assert main(["decode", str(genome), str(predictions), str(default)]) == 0
    assert main(["decode", "--gene-prefix", "Mymus", str(genome), str(predictions), "100", "0.1", "0.8", "60",
                 str(renamed)]) == 0
    assert renamed.read_text() == default.read_text().replace("Synthetica_testii", "Mymus")
    assert "##species Mymus\n" in renamed.read_text()


def expect_error(capsys, argv, *fragments):
    out = argv[-1]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, err
    assert list(Path(out).parent.iterdir()) == [], "output or temporary file left behind"


def copy_with(path, tmp_path, name, edit):
    copy = tmp_path / name
    shutil.copy(path, copy)
    with h5py.File(copy, "r+") as h5:
        edit(h5)
    return copy


def test_bad_input_gives_one_line_errors_and_no_output(synthetic, tmp_path, capsys):
    genome, predictions = synthetic
    out = str(tmp_path / "out" / "decoded.gff3")
    (tmp_path / "out").mkdir()

    def fewer_rows(h5):
        for name in ("predictions", "predictions_phase"):
            data = h5[name][:-1]
            del h5[name]
            h5.create_dataset(name, data=data)

    def shorter(h5):
        for name in ("predictions", "predictions_phase"):
            data = h5[name][:, :-9]
            del h5[name]
            h5.create_dataset(name, data=data)

    def nan_value(h5):
        h5["predictions"][3, 17, 2] = np.nan

    def no_phase(h5):
        del h5["predictions_phase"]

    def filtered(h5):  # drop a plus-strand block, as filter-to-most-certain would
        for name in ("data/X", "data/seqids", "data/species", "data/start_ends", "predictions", "predictions_phase"):
            if name in h5:
                data = np.delete(h5[name][:], 1, axis=0)
                del h5[name]
                h5.create_dataset(name, data=data)

    def two_species(h5):
        h5["data/species"][0] = b"Other_species"

    cases = [
        (genome, copy_with(predictions, tmp_path, "fewer.h5", fewer_rows), ("fewer.h5", "do not belong together")),
        (genome, copy_with(predictions, tmp_path, "shorter.h5", shorter), ("shorter.h5", "subsequence length")),
        (genome, copy_with(predictions, tmp_path, "nan.h5", nan_value), ("nan.h5", "row 3, base 17", "NaN")),
        (genome, copy_with(predictions, tmp_path, "nophase.h5", no_phase), ("nophase.h5", "predictions_phase",
                                                                             "missing")),
        (copy_with(genome, tmp_path, "filtered.h5", filtered),
         copy_with(predictions, tmp_path, "filtered_p.h5", filtered),
         ("filtered.h5", "sequence 'chr1'", "filtered data")),
        (copy_with(genome, tmp_path, "species.h5", two_species), predictions, ("species.h5", "exactly one")),
        (tmp_path / "absent.h5", predictions, ("absent.h5", "no such file")),
    ]
    for bad_genome, bad_predictions, fragments in cases:
        expect_error(capsys, ["decode", str(bad_genome), str(bad_predictions), out], *fragments)
    # thresholds and argument counts
    expect_error(capsys, ["decode", "--edge-threshold", "1.5", str(genome), str(predictions), out], "edge threshold")
    expect_error(capsys, ["decode", str(genome), str(predictions), "100", "0.1", "-0.2", "60", out], "peak threshold")
    expect_error(capsys, ["decode", str(genome), str(predictions), "0", "0.1", "0.8", "60", out], "window size")
    expect_error(capsys, ["decode", str(genome), str(predictions), "100", "x", "0.8", "60", out], "must be")
    expect_error(capsys, ["decode", "--window-size", "50", str(genome), str(predictions), "100", "0.1", "0.8", "60",
                          out], "contradicts")
    expect_error(capsys, ["decode", str(genome), out], "expected 3 or 7 arguments")
