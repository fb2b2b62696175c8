"""A second writer of a file or run folder that a command updates in place is refused, and nothing is lost."""

from __future__ import annotations

import shutil

import h5py

from sharedpaths import TEST_DATA
from clirun import assert_clean_failure, leftovers, run_helixtune, snapshot
from helixtune.locking import locked

COVERAGE = TEST_DATA / "coverage"
BAM = COVERAGE / "spombe_chrI_44000-48000.bam"


def test_concurrent_add_coverage_is_refused(tmp_path):
    h5 = tmp_path / "data.h5"
    shutil.copyfile(COVERAGE / "spombe_chrI_44000-48000.h5", h5)
    args = ("add-coverage", "-b", BAM, "-d", h5, "--unstranded")
    with locked(h5, "adding coverage to"):  # as a first add-coverage run holds it
        before = snapshot(tmp_path)
        line = assert_clean_failure(run_helixtune(*args, cwd=tmp_path), 1, mentions="another helixtune command")
        assert "data.h5" in line
        assert snapshot(tmp_path) == before
    # once the first one is done, the second goes through, and both tracks are there
    assert run_helixtune(*args, "--dataset-prefix", "second", cwd=tmp_path).returncode == 0
    assert run_helixtune(*args, cwd=tmp_path).returncode == 0
    with h5py.File(h5) as f:
        assert f["evaluation/second_coverage"].shape[2] == 1 and f["evaluation/rnaseq_coverage"].shape[2] == 1
    assert not leftovers(tmp_path)


def test_two_trainings_in_one_run_folder_are_refused(work):
    run_dir = work / "m.safetensors.run"
    run_dir.mkdir()
    with locked(run_dir, "running in"):
        result = run_helixtune("train", "-d", "data", "-s", "m.safetensors", "--epochs", "1", cwd=work)
        assert_clean_failure(result, 1, mentions="another helixtune command")
    assert not (work / "m.safetensors").exists() and not any(run_dir.iterdir())


def test_two_self_trains_in_one_folder_are_refused(work):
    out = work / "run"
    out.mkdir()
    with locked(out, "running in"):
        result = run_helixtune("self-train", "--example", "--out", "run", cwd=work)
        assert_clean_failure(result, 1, mentions="another helixtune command")
    assert not any(out.iterdir())


def test_a_failed_training_leaves_no_empty_run_folder(work):
    shutil.copyfile(work / "genome.h5", work / "data" / "training_data.h5")  # a genome file: no labels
    result = run_helixtune("train", "-d", "data", "-s", "m.safetensors", cwd=work)
    assert_clean_failure(result, 1, mentions="has no labels")
    assert not (work / "m.safetensors.run").exists() and not (work / "m.safetensors").exists()
