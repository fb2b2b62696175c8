"""add-coverage: parity with upstream add_ngs_coverage.py, strand handling, several BAMs, atomicity, bad input."""

from __future__ import annotations

import hashlib
import json
import shutil

import h5py
import numpy as np
import pysam
import pytest

from sharedpaths import shared_file
from helixtune.cli import main as cli_main
from helixtune.coverage import add_coverage
from helixtune.coverage import add as add_module
from helixtune.errors import HelixtuneError, InputFileError

SLICE = "spombe_chrI_44000-48000"
RF = "second_read_is_sense_strand"


@pytest.fixture
def slice_files(test_data, tmp_path):
    """A writable copy of the small S. pombe h5 (4 rows, L = 2500) and the BAM slice it is read from."""
    src = test_data / "coverage"
    h5 = tmp_path / "slice.h5"
    shutil.copyfile(src / f"{SLICE}.h5", h5)
    return h5, src / f"{SLICE}.bam", np.load(src / f"{SLICE}.upstream_rnaseq.npz")


def digest(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def read_tracks(path, prefix="rnaseq"):
    with h5py.File(path, "r") as h5:
        return (h5[f"evaluation/{prefix}_coverage"][:], h5[f"evaluation/{prefix}_spliced_coverage"][:])


def test_slice_equals_upstream_output(slice_files):
    h5_path, bam, expected = slice_files
    summary = add_coverage(h5_path, [bam], RF)
    assert summary.rows_written == 4 and summary.reads_per_bam == [1596]
    coverage, spliced = read_tracks(h5_path)
    assert coverage.dtype == np.int64 and coverage.shape == (4, 2500, 1)
    np.testing.assert_array_equal(coverage[:, :, 0], expected["coverage"])
    np.testing.assert_array_equal(spliced[:, :, 0], expected["spliced_coverage"])
    # rows 1 and 2 are padded at the end with -1 on both strands, like data/X
    assert (coverage[1, 1500:] == -1).all() and (coverage[2, 1500:] == -1).all()
    assert (coverage[1, :1500] >= 0).all()
    with h5py.File(h5_path, "r") as h5:
        dataset = h5["evaluation/rnaseq_coverage"]
        assert dataset.fillvalue == -1 and dataset.chunks == (1, 2500, 1) and dataset.maxshape == (None, 2500, None)
        assert h5["evaluation/rnaseq_meta/bam_files"][:].tolist() == [str(bam).encode()]
        assert dataset.attrs["strandedness"] == RF
        assert json.loads(dataset.attrs["bam_files"]) == [str(bam)]


def test_windows_and_worker_processes_give_the_same_tracks(slice_files, tmp_path):
    h5_path, bam, expected = slice_files
    # 700-bp windows split the 4 kbp region between reads; two worker processes count them
    add_coverage(h5_path, [bam], RF, threads=2, window_bp=700)
    coverage, spliced = read_tracks(h5_path)
    np.testing.assert_array_equal(coverage[:, :, 0], expected["coverage"])
    np.testing.assert_array_equal(spliced[:, :, 0], expected["spliced_coverage"])


def test_strandedness_flags(slice_files, tmp_path):
    h5_path, bam, _ = slice_files
    copies = {}
    for mode in ("second_read_is_sense_strand", "first_read_is_sense_strand", "unstranded"):
        copies[mode] = tmp_path / f"{mode}.h5"
        shutil.copyfile(h5_path, copies[mode])
        add_coverage(copies[mode], [bam], mode)
    rf, _ = read_tracks(copies["second_read_is_sense_strand"])
    fr, _ = read_tracks(copies["first_read_is_sense_strand"])
    un, _ = read_tracks(copies["unstranded"])
    # all reads are paired, so FR puts every read on the other strand than RF: plus row 0 [44000, 46500)
    # under FR equals minus row 3 [46500, 44000) under RF, read back to front
    np.testing.assert_array_equal(fr[0, :, 0], rf[3, ::-1, 0])
    np.testing.assert_array_equal(fr[3, :, 0], rf[0, ::-1, 0])
    # unstranded splits reads over the strands by alignment strand; the two strands add to the same total
    total = lambda tracks: tracks[0, :, 0] + tracks[3, ::-1, 0]  # noqa: E731
    np.testing.assert_array_equal(total(un), total(rf))
    assert not np.array_equal(un[0], rf[0])


def test_second_bam_is_appended_as_a_track_and_duplicates_refused(slice_files, tmp_path):
    h5_path, bam, expected = slice_files
    add_coverage(h5_path, [bam], RF)
    second = tmp_path / "copy.bam"
    shutil.copyfile(bam, second)
    shutil.copyfile(str(bam) + ".bai", str(second) + ".bai")
    add_coverage(h5_path, [second], RF)
    coverage, _ = read_tracks(h5_path)
    assert coverage.shape == (4, 2500, 2)
    np.testing.assert_array_equal(coverage[:, :, 1], expected["coverage"])
    before = digest(h5_path)
    with pytest.raises(InputFileError, match="already has a 'rnaseq' coverage track"):
        add_coverage(h5_path, [bam], RF)
    with pytest.raises(InputFileError, match="one protocol"):
        add_coverage(h5_path, [tmp_path / "copy.bam"], "unstranded")
    assert digest(h5_path) == before


def test_unindexed_unsorted_and_foreign_bams_fail_with_one_line_and_leave_h5_unchanged(slice_files, tmp_path,
                                                                                       capsys):
    h5_path, bam, _ = slice_files
    before = digest(h5_path)
    # unindexed
    no_index = tmp_path / "no_index.bam"
    shutil.copyfile(bam, no_index)
    # unsorted: the records in reverse order, header saying so
    with pysam.AlignmentFile(str(bam)) as source:
        header = source.header.to_dict()
        reads = list(source.fetch())
    header["HD"] = {"VN": "1.6", "SO": "unsorted"}
    unsorted = tmp_path / "unsorted.bam"
    with pysam.AlignmentFile(str(unsorted), "wb", header=header) as out:
        for read in reversed(reads):
            out.write(read)
    # another assembly: contig renamed
    header = dict(header, HD={"VN": "1.6", "SO": "coordinate"})
    header["SQ"] = [dict(header["SQ"][0], SN="chrX")]
    foreign = tmp_path / "foreign.bam"
    with pysam.AlignmentFile(str(foreign), "wb", header=header) as out:
        for read in reads[:10]:  # records refer to contigs by index, so they now lie on chrX
            out.write(read)
    pysam.index(str(foreign))
    for path, message in ((no_index, "has no index"), (unsorted, "not sorted by coordinate"),
                          (foreign, "has no contig '7000000090838467'"), (tmp_path / "missing.bam", "no such file")):
        status = cli_main(["add-coverage", "--bam", str(path), "--h5-data", str(h5_path),
                           "--second-read-is-sense-strand"])
        err = capsys.readouterr().err.strip()
        assert status == 1 and message in err and str(path) in err and "\n" not in err
        assert digest(h5_path) == before
    assert sorted(p.name for p in h5_path.parent.iterdir() if p.name.startswith(".")) == []


def test_failure_while_writing_leaves_input_as_it_was(slice_files, monkeypatch):
    h5_path, bam, _ = slice_files
    before = digest(h5_path)
    calls = []

    def failing_write(*args, **kwargs):
        calls.append(1)
        raise OSError("disk full")

    monkeypatch.setattr(add_module, "_write_rows", failing_write)
    with pytest.raises(OSError):
        add_coverage(h5_path, [bam], RF)
    assert calls and digest(h5_path) == before
    assert [p.name for p in h5_path.parent.iterdir()] == [h5_path.name]


def test_species_selection_and_bad_options(slice_files, tmp_path):
    h5_path, bam, _ = slice_files
    with pytest.raises(InputFileError, match="no rows of species 'Scerevisiae'"):
        add_coverage(h5_path, [bam], RF, species="Scerevisiae")
    with pytest.raises(HelixtuneError, match="only defined for unstranded"):
        add_coverage(h5_path, [bam], RF, shift=True)
    with pytest.raises(HelixtuneError, match="given twice"):
        add_coverage(h5_path, [bam, bam], RF)


@pytest.mark.shared
def test_whole_chromosome_equals_upstream_reference(tmp_path):
    """S. pombe chromosome I, 522 rows of 21,384 bp: every value equals upstream add_ngs_coverage.py's."""
    genome = shared_file("reference_outputs/spombe_chrI.fasta2h5.h5")
    reference = shared_file("reference_outputs/spombe_chrI.geenuff2h5_with_rnaseq.h5")
    bam = shared_file("schizosaccharomyces_pombe/SP2.chr.bam")
    h5_path = tmp_path / "genome.h5"
    shutil.copyfile(genome, h5_path)
    add_coverage(h5_path, [bam], RF)
    coverage, spliced = read_tracks(h5_path)
    with h5py.File(reference, "r") as ref:
        np.testing.assert_array_equal(coverage, ref["evaluation/rnaseq_coverage"][:])
        np.testing.assert_array_equal(spliced, ref["evaluation/rnaseq_spliced_coverage"][:])
    assert coverage.max() > 2000 and spliced.max() > 100  # the comparison is not between empty tracks


@pytest.mark.shared
def test_four_drosophila_bams_add_together(tmp_path):
    """Four unstranded BAMs give four tracks, each as if added alone, and together what their merge gives."""
    from helixtune.genome.chunks import chunk_start_ends

    bams = [shared_file(f"drosophila_melanogaster/sample{i}.tiny.paired.sorted.bam") for i in range(1, 5)]
    subsequence_length = 20000
    seqids, start_ends = [], []
    for name in ("chr2L", "chr2R"):  # the first 400 kbp of each (dm6.small.fa has 1 Mbp), dm6 coordinates
        rows = chunk_start_ends(400_000, subsequence_length)
        seqids += [name.encode()] * len(rows)
        start_ends.append(rows)
    start_ends = np.concatenate(start_ends)

    def genome_file(name):
        path = tmp_path / name
        with h5py.File(path, "w") as h5:  # X is never read by add-coverage; an unwritten dataset gives L
            h5.create_dataset("data/X", shape=(len(seqids), subsequence_length, 4), dtype="float16",
                              chunks=(1, subsequence_length, 4))
            h5["data/seqids"] = np.array(seqids, dtype="S50")
            h5["data/start_ends"] = start_ends
        return path

    together = genome_file("together.h5")
    add_coverage(together, bams, "unstranded")
    coverage, spliced = read_tracks(together)
    assert coverage.shape == (80, subsequence_length, 4)
    for i in (0, 3):
        alone = genome_file(f"alone{i}.h5")
        add_coverage(alone, [bams[i]], "unstranded")
        single, single_spliced = read_tracks(alone)
        np.testing.assert_array_equal(coverage[:, :, i], single[:, :, 0])
        np.testing.assert_array_equal(spliced[:, :, i], single_spliced[:, :, 0])
    merged = tmp_path / "merged.bam"
    pysam.merge("-f", str(merged), *map(str, bams))
    pysam.index(str(merged))
    merged_h5 = genome_file("merged.h5")
    add_coverage(merged_h5, [merged], "unstranded")
    merged_coverage, merged_spliced = read_tracks(merged_h5)
    np.testing.assert_array_equal(coverage.sum(axis=2), merged_coverage[:, :, 0])
    np.testing.assert_array_equal(spliced.sum(axis=2), merged_spliced[:, :, 0])
    assert spliced.max() > 0 and (coverage > 0).sum(axis=(0, 1)).min() > 5_000
