"""A full disk (simulated by a file-size limit, RLIMIT_FSIZE) ends each command with one line naming the output.

No traceback, no crash (predict used to segfault), no output and no temporary file left.
"""

from __future__ import annotations

import pytest

from clirun import assert_clean_failure, leftovers, run_helixtune

CASES = {
    "encode": (("encode", "--fasta", "genome.fa", "-o", "out.h5", "--species", "S", "--subsequence-length", "999"),
               "out.h5", 4096),
    "predict": (("predict", "-l", "bundled", "-t", "genome.h5", "-p", "out.h5"), "out.h5", 4096),
    "decode": (("decode", "genome.h5", "predictions.h5", "out.gff3"), "out.gff3", 200),
    "gff2h5": (("gff2h5", "--gff3", "reference.gff3", "--fasta", "genome.fa", "--species", "S",
                "--h5-output-path", "out.h5", "--subsequence-length", "999"), "out.h5", 8192),
    "evaluate": (("evaluate", "-r", "reference.gff3", "-p", "decoded.gff3", "--json", "out.json"), "out.json", 512),
    "example-data": (("example-data", "out"), "out", 4096),
    "train": (("train", "-d", "data", "-s", "out.safetensors", "--epochs", "1", "--units", "4", "--filter-depth",
               "4", "--batch-size", "32"), "out.safetensors", 2048),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_full_disk_is_one_line(work, case):
    args, output, limit = CASES[case]
    before = sorted(p.name for p in work.iterdir())
    result = run_helixtune(*args, cwd=work, file_size_limit=limit)
    line = assert_clean_failure(result, 1, progress=case == "train")
    if case == "gff2h5":  # the import stage's own message names its database
        assert "disk I/O error" in line or ("cannot be written" in line and output in line), line
    else:
        assert "cannot be written" in line and output in line, line
    assert not leftovers(work)
    assert sorted(p.name for p in work.iterdir()) == before  # no output, no empty folder
