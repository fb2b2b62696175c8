"""Damaged or wrong inputs that used to end in a traceback: one line naming the file, nothing left behind."""

from __future__ import annotations

import shutil

import h5py
import pysam
import pytest

from sharedpaths import TEST_DATA
from clirun import assert_clean_failure, leftovers, run_helixtune, snapshot


def damage_chunk(path, dataset: str, chunk: int = 1) -> None:
    """Overwrite the middle of one compressed chunk: the header stays intact, the data cannot be decompressed."""
    with h5py.File(path, "r") as h5:
        info = h5[dataset].id.get_chunk_info(chunk)
    with open(path, "r+b") as f:
        f.seek(info.byte_offset + info.size // 4)
        f.write(b"\xde\xad\xbe\xef" * max(1, info.size // 8))


CORRUPT_CASES = {
    "predict": ("genome.h5", "data/X", ("predict", "-l", "bundled", "-t", "genome.h5", "-p", "out.h5")),
    "decode": ("predictions.h5", "predictions", ("decode", "genome.h5", "predictions.h5", "out.gff3")),
    "evaluate": ("predictions.h5", "predictions", ("evaluate", "-r", "labels.h5", "-p", "predictions.h5",
                                                  "--genome-h5", "genome.h5", "--json", "out.json")),
    "split": ("labels.h5", "data/y", ("split", "-i", "labels.h5", "-o", "out/")),
    "select-confident": ("labels.h5", "data/y", ("select-confident", "--h5-to-filter", "labels.h5", "--predictions",
                                                 "predictions.h5", "--output-file", "out.h5")),
    "train": ("data/training_data.h5", "data/y", ("train", "-d", "data", "-s", "out.safetensors")),
}


@pytest.mark.parametrize("case", sorted(CORRUPT_CASES))
def test_corrupt_data_chunk(work, case):
    damaged, dataset, args = CORRUPT_CASES[case]
    damage_chunk(work / damaged, dataset)
    before = snapshot(work)
    line = assert_clean_failure(run_helixtune(*args, cwd=work), 1, mentions="the file is damaged")
    assert damaged.split("/")[-1] in line and dataset in line
    assert snapshot(work) == before and not leftovers(work)
    assert not (work / "out.safetensors.run").exists()


def test_empty_last_checkpoint(work):
    (work / "m.safetensors.run").mkdir()
    (work / "m.safetensors.run" / "last.ckpt").write_bytes(b"")
    result = run_helixtune("train", "-d", "data", "-s", "m.safetensors", cwd=work)
    assert_clean_failure(result, 1, mentions="last.ckpt: is empty")
    assert "--restart" in result.stderr and not (work / "m.safetensors").exists()


def test_genome_file_given_to_train(work):
    shutil.copyfile(work / "genome.h5", work / "data" / "validation_data.h5")
    result = run_helixtune("train", "-d", "data", "-s", "m.safetensors", cwd=work)
    assert_clean_failure(result, 1, mentions="validation_data.h5: has no labels")


def test_bam_with_the_index_of_another_bam(tmp_path):
    source = TEST_DATA / "coverage" / "spombe_chrI_44000-48000.bam"
    with pysam.AlignmentFile(str(source)) as bam:
        header = {"HD": {"VN": "1.6", "SO": "coordinate"},
                  "SQ": [{"SN": "other", "LN": 1000}] + [{"SN": n, "LN": n_len}
                                                          for n, n_len in zip(bam.references, bam.lengths)]}
    with pysam.AlignmentFile(str(tmp_path / "other.bam"), "wb", header=header) as out:
        for i in range(20):
            read = pysam.AlignedSegment(out.header)
            read.query_name, read.reference_id, read.reference_start = f"r{i}", 0, 10 * i
            read.cigarstring, read.query_sequence, read.mapping_quality = "50M", "A" * 50, 60
            out.write(read)
    pysam.index(str(tmp_path / "other.bam"))
    shutil.copyfile(source, tmp_path / "reads.bam")
    shutil.copyfile(tmp_path / "other.bam.bai", tmp_path / "reads.bam.bai")
    shutil.copyfile(TEST_DATA / "coverage" / "spombe_chrI_44000-48000.h5", tmp_path / "data.h5")
    before = snapshot(tmp_path)
    result = run_helixtune("add-coverage", "-b", "reads.bam", "-d", "data.h5", "--unstranded", cwd=tmp_path)
    assert_clean_failure(result, 1, mentions="reads.bam: its index does not match it")
    assert snapshot(tmp_path) == before and not leftovers(tmp_path)
