"""split: whole sequences by the N90 rule, seeded, metadata kept; region fallback for one-sequence genomes."""

from __future__ import annotations

import shutil
import subprocess

import h5py
import numpy as np
import pytest

from sharedpaths import peer_python
from helixtune.cli import main as cli_main
from helixtune.pseudolabel.split import assign, draw, n90_groups, output_paths, split

MINI = "micromonas/micromonas_mini.geenuff2h5.h5"


def seqids_of(path):
    with h5py.File(path) as f:
        return set(f["data/seqids"][:].tolist()), f["data/seqids"].shape[0]


def test_whole_sequences_go_to_one_side_reproducibly(test_data, tmp_path):
    source = test_data / MINI
    first = split(source, f"{tmp_path}/a/", seed=7)
    second = split(source, f"{tmp_path}/b/", seed=7)
    assert first.training_ids == second.training_ids and first.validation_ids == second.validation_ids
    train_ids, n_train = seqids_of(first.training_path)
    val_ids, n_val = seqids_of(first.validation_path)
    assert not train_ids & val_ids and n_train + n_val == 28 and n_val > 0
    with h5py.File(first.training_path) as t, h5py.File(source) as s:
        rows = np.flatnonzero(np.isin(s["data/seqids"][:], list(train_ids)))
        np.testing.assert_array_equal(t["data/y"][:], s["data/y"][rows])  # row order kept
        np.testing.assert_array_equal(t["data/start_ends"][:], s["data/start_ends"][rows])
        assert t.attrs["split_seed"] == "7" and t["data/X"].compression == s["data/X"].compression
    # the largest sequence (24 of 28 rows) and the next (2 rows) make up the N90 group
    group_a, group_b = n90_groups(*np.unique(np.array([b"a"] * 24 + [b"b"] * 2 + [b"c"] * 2), return_counts=True))
    assert group_a == [b"a", b"b"] and group_b == [b"c"]


def test_n90_and_draw_follow_sklearn_sizes():
    ids = np.array([b"s%02d" % i for i in range(11)])
    counts = np.array([50, 40, 30, 5, 5, 1, 1, 1, 1, 1, 1])
    group_a, group_b = n90_groups(ids, counts)
    assert group_a == [b"s00", b"s01", b"s02", b"s03"]  # 125 >= int(0.9 * 136) = 122
    rng = np.random.RandomState(0)
    for m, n_val in ((2, 1), (3, 1), (5, 1), (7, 2), (11, 3)):
        train, val = draw(list(range(m)), 0.2, rng)
        assert len(val) == n_val and sorted(train + val) == list(range(m))
    assert draw([b"only"], 0.2, rng) == ([b"only"], [])


@pytest.mark.peer
def test_same_split_as_upstream_sklearn_after_the_same_seeding(tmp_path):
    python = peer_python("helixer")
    if python is None:
        pytest.skip("upstream Helixer environment not installed")
    script = ("import numpy as np; from sklearn.model_selection import train_test_split as t; np.random.seed(5); "
              "a=[b'x%d' % i for i in range(9)]; b=[b'y%d' % i for i in range(6)]; "
              "print(t(a, test_size=0.2)); print(t(b, test_size=0.2))")
    result = subprocess.run([str(python), "-c", script], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip("scikit-learn not importable in the upstream environment")
    ids = np.array([b"x%d" % i for i in range(9)] + [b"y%d" % i for i in range(6)])
    rng = np.random.RandomState(5)
    train_a, val_a = draw([b"x%d" % i for i in range(9)], 0.2, rng)
    train_b, val_b = draw([b"y%d" % i for i in range(6)], 0.2, rng)
    assert result.stdout.splitlines() == [str([train_a, val_a]), str([train_b, val_b])]
    assert len(ids) == 15


def test_one_sequence_genome_is_split_by_regions(test_data, tmp_path, capsys):
    genome = test_data / "coverage" / "spombe_chrI_44000-48000.h5"  # 1 sequence, rows at 44000 and 46500
    source = tmp_path / "labelled.h5"
    shutil.copyfile(genome, source)
    with h5py.File(source, "r+") as h5:  # split wants labelled data; the labels do not matter here
        h5.create_dataset("data/y", data=np.zeros(h5["data/X"].shape, dtype=np.int8))
    status = cli_main(["split", "-i", str(source), "-o", f"{tmp_path}/out/", "--region-bp", "2000"])
    out = capsys.readouterr().out
    assert status == 0 and "regions of 2,000 bp" in out
    with h5py.File(tmp_path / "out" / "training_data.h5") as t, h5py.File(tmp_path / "out" / "validation_data.h5") as v:
        regions = lambda f: {int(min(r)) // 2000 for r in f["data/start_ends"][:]}  # noqa: E731
        assert len(t["data/X"]) == 2 and len(v["data/X"]) == 2 and not regions(t) & regions(v)
        # both strands of a region stay together
        for f in (t, v):
            se = f["data/start_ends"][:]
            plus = {tuple(r) for r in se if r[0] < r[1]}
            minus = {tuple(r[::-1]) for r in se if r[0] > r[1]}
            assert plus == minus and len(plus) == 1
    upstream_like = split(source, f"{tmp_path}/up/", region_bp=None)
    assert upstream_like.validation_rows == 0 and upstream_like.training_rows == 4


def test_output_prefix_rules_and_empty_input(tmp_path, test_data):
    assert output_paths("out/") == (tmp_path.__class__("out/training_data.h5"),
                                    tmp_path.__class__("out/validation_data.h5"))
    assert str(output_paths("run1_")[0]) == "run1_training_data.h5"
    empty = tmp_path / "empty.h5"
    with h5py.File(empty, "w") as f:
        f.create_dataset("data/seqids", shape=(0,), dtype="S50")
    assert cli_main(["split", "-i", str(empty), "-o", f"{tmp_path}/x/"]) == 1
    assert cli_main(["split", "-i", str(test_data / MINI), "-o", f"{tmp_path}/x/", "--val-fraction", "1"]) == 1
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())


def test_coverage_metadata_survives_the_split(test_data, tmp_path):
    from helixtune.coverage import add_coverage

    source = tmp_path / "with_coverage.h5"
    shutil.copyfile(test_data / "coverage" / "spombe_chrI_44000-48000.h5", source)
    bam = test_data / "coverage" / "spombe_chrI_44000-48000.bam"
    add_coverage(source, [bam], "second_read_is_sense_strand")
    with h5py.File(source, "r+") as h5:  # split wants labelled data; the labels do not matter here
        h5.create_dataset("data/y", data=np.zeros(h5["data/X"].shape, dtype=np.int8))
    summary = split(source, f"{tmp_path}/out/", seed=1, region_bp=2000)
    assert summary.unit == "region" and summary.validation_rows == 2
    with h5py.File(source) as src:
        coverage = src["evaluation/rnaseq_coverage"][:]
        start_ends = [tuple(r) for r in src["data/start_ends"][:]]
    for path in (summary.training_path, summary.validation_path):
        with h5py.File(path) as f:
            assert f["evaluation/rnaseq_meta/bam_files"][:].tolist() == [str(bam).encode()]
            assert f["evaluation/rnaseq_coverage"].fillvalue == -1
            assert f["evaluation/rnaseq_coverage"].attrs["strandedness"] == "second_read_is_sense_strand"
            for row, key in enumerate(f["data/start_ends"][:]):  # each row's coverage travelled with it
                np.testing.assert_array_equal(f["evaluation/rnaseq_coverage"][row],
                                              coverage[start_ends.index(tuple(key))])
    assert set(assign(np.array([b"a"] * 5), 0.2, 0)[0]) == {b"a"}
