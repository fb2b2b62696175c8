"""Ctrl-C (SIGINT to the process group) ends a command with exit 130 and one line, and removes its temporary files."""

from __future__ import annotations

import shutil

from sharedpaths import TEST_DATA
from clirun import assert_clean_failure, interrupt_when, leftovers, snapshot
from helixtune import atomic


def partial_file_in(folder):
    return lambda: any(".partial" in p.name for p in folder.iterdir())


def test_ctrl_c_during_predict(work):
    # the micromonas genome (28 subsequences of 21,384 bp): long enough to be interrupted while writing
    shutil.copyfile(TEST_DATA / "micromonas" / "micromonas_mini.fasta2h5.h5", work / "big.h5")
    before = snapshot(work)
    result = interrupt_when(("predict", "-l", "bundled", "-t", "big.h5", "-p", "out.h5", "--batch-size", "1"),
                            partial_file_in(work), cwd=work)
    assert_clean_failure(result, 130, mentions="interrupted")
    assert snapshot(work) == before and not leftovers(work)


def test_ctrl_c_during_decode(work, inputs):
    shutil.copyfile(TEST_DATA / "micromonas" / "micromonas_mini.fasta2h5.h5", work / "big.h5")
    from helixtune.cli import main

    assert main(["predict", "-l", "bundled", "-t", str(work / "big.h5"), "-p", str(work / "big_predictions.h5")]) == 0
    before = snapshot(work)
    result = interrupt_when(("decode", "big.h5", "big_predictions.h5", "out.gff3", "--threads", "2"),
                            partial_file_in(work), cwd=work)
    assert_clean_failure(result, 130, mentions="interrupted")
    assert snapshot(work) == before and not leftovers(work)


def test_output_is_not_replaced_after_a_swallowed_interrupt(tmp_path):
    """A library that swallows the KeyboardInterrupt cannot make the command replace its output afterwards."""
    target = tmp_path / "data.h5"
    target.write_text("old")
    atomic.interrupted.set()
    try:
        try:
            with atomic.atomic_output(target) as tmp:
                tmp.write_text("new")
        except KeyboardInterrupt:
            pass
        else:
            raise AssertionError("no KeyboardInterrupt")
    finally:
        atomic.interrupted.clear()
    assert target.read_text() == "old" and not leftovers(tmp_path)
