"""The command line as a whole: every command is listed with a purpose, and the example data is usable."""

from __future__ import annotations

import gzip

import h5py
import pytest

from helixtune.cli import COMMAND_MODULES, build_parser, main


def test_help_lists_every_command_with_a_purpose(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    listing = capsys.readouterr().out
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    assert len(subparsers._choices_actions) == len(COMMAND_MODULES)
    for choice in subparsers._choices_actions:
        assert choice.help, f"{choice.dest} has no one-line purpose"
        assert choice.dest.split(" ")[0] in listing


def test_example_data_encodes(tmp_path, test_data, capsys):
    assert main(["example-data", str(tmp_path)]) == 0
    fasta = tmp_path / "micromonas_mini.fa.gz"
    assert gzip.decompress(fasta.read_bytes()) == (test_data / "micromonas" / "mini_test_data.fa").read_bytes()
    assert main(["encode", "--fasta-path", str(fasta), "--species", "Mpusilla",
                 "--h5-output-path", str(tmp_path / "genome.h5")]) == 0
    with h5py.File(tmp_path / "genome.h5") as h5:
        assert h5["data/X"].shape == (28, 21384, 4)
