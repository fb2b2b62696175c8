"""A folder where an output file is wanted, or a file where an output folder is wanted: one line, nothing left."""

from __future__ import annotations

import os

import pytest

from sharedpaths import TEST_DATA
from clirun import assert_clean_failure, leftovers, run_helixtune, snapshot


@pytest.mark.parametrize("args", [
    ("encode", "--fasta", "genome.fa", "-o", "folder", "--species", "S"),
    ("predict", "-l", "bundled", "-t", "genome.h5", "-p", "folder"),
    ("decode", "genome.h5", "predictions.h5", "folder"),
    ("annotate", "--fasta", "genome.fa", "-l", "bundled", "--gff-output-path", "folder"),
], ids=lambda args: args[0])
def test_existing_folder_as_output_file(work, args):
    (work / "folder").mkdir()
    before = snapshot(work)
    assert_clean_failure(run_helixtune(*args, cwd=work), 1, mentions="folder")
    assert snapshot(work) == before and not leftovers(work)


@pytest.mark.parametrize("args", [
    ("example-data", "afile"),
    ("example-data", "afile/sub"),
    ("self-train", "--example", "--out", "afile"),
    ("encode", "--fasta", "genome.fa", "-o", "afile/x.h5", "--species", "S"),
    ("annotate", "--fasta", "genome.fa", "-l", "bundled", "--gff-output-path", "afile/x.gff3"),
    ("annotate", "--fasta", "genome.fa", "-l", "bundled", "--gff-output-path", "x.gff3", "--temporary-dir", "afile"),
    ("evaluate", "-r", "reference.gff3", "-p", "decoded.gff3", "--report", "afile"),
], ids=lambda args: "-".join(a for a in args if not a.startswith("-"))[:40])
def test_existing_file_where_a_folder_is_needed(work, args):
    (work / "afile").write_text("not a folder\n")
    before = snapshot(work)
    line = assert_clean_failure(run_helixtune(*args, cwd=work), 1)
    assert "afile" in line and ("is a file" in line or "a file, not a folder" in line), line
    assert snapshot(work) == before and not leftovers(work)


def test_stale_temporary_files_of_a_killed_run_are_removed(work):
    stale = work / ".out.h5.999999999.partial"  # no process has this id
    stale.write_bytes(b"x" * 1000)
    stale_folder = work / ".out.h5.999999999.partial.scratch"
    stale_folder.mkdir()
    (stale_folder / "spill").write_bytes(b"y")
    result = run_helixtune("encode", "--fasta", "genome.fa", "-o", "out.h5", "--species", "S", cwd=work)
    assert result.returncode == 0, result.stderr
    assert (work / "out.h5").exists() and not leftovers(work)


def test_outputs_respect_the_umask(tmp_path):
    """safetensors writes files 0600; the model file gets the umask's permissions like every other output."""
    keras_model = TEST_DATA / "model" / "small_default.h5"
    result = run_helixtune("convert-model", keras_model, "m.safetensors", cwd=tmp_path,
                           preexec=lambda: os.umask(0o022))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "m.safetensors").stat().st_mode & 0o777 == 0o644


def test_gff3_header_names_the_model_by_file_name_and_md5(inputs):
    from helixtune.data import bundled_model_path
    from helixtune.model.model_file import file_md5

    header = [line for line in (inputs / "decoded.gff3").read_text().splitlines() if line.startswith("#")]
    assert f"# {file_md5(bundled_model_path())}  {bundled_model_path().name}" in header
    assert not any(str(bundled_model_path().parent) in line for line in header)
