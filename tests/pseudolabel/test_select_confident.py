"""select-confident: exact (float64) discrepancies, stratified allocation, row matching, outputs and bad input."""

from __future__ import annotations

import hashlib
import json
import shutil

import h5py
import numpy as np
import pytest

from sharedpaths import shared_file
from helixtune import h5layout
from helixtune.cli import main as cli_main
from helixtune.errors import HelixtuneError, InputFileError
from helixtune.h5layout import rotate_minus_padding_first
from helixtune.pseudolabel.h5rows import copy_row_subset
from helixtune.pseudolabel.select import allocate, select_confident, stratify

MINI = "micromonas/micromonas_mini.geenuff2h5.h5"


def digest(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def blurred_predictions(labels_path, out_path, order=None, with_keys=True, layout="genome"):
    """Predictions made from the real labels: row i mixes its labels with labels shifted by 50*i bases.

    The further a row's labels are shifted, the more its prediction disagrees, so the expected ranking within
    a stratum is known without the model. `order` writes the rows permuted (the keys say which is which).
    """
    with h5py.File(labels_path, "r") as src:
        y = src["data/y"][:].astype(np.float32)
        seqids, start_ends = src["data/seqids"][:], src["data/start_ends"][:]
    p = np.empty_like(y)
    for i in range(len(y)):
        p[i] = 0.6 * y[i] + 0.4 * np.roll(y[i], 50 * i, axis=0)
    p[y.sum(axis=-1) == 0] = [0.9, 0.05, 0.03, 0.02]  # a model predicts something in padding too
    order = np.arange(len(y)) if order is None else np.asarray(order)
    stored = p[order]
    if layout == "helixer-0.3.6":  # padded minus chunks written padding-first, as upstream 0.3.6 does
        stored = rotate_minus_padding_first(stored, start_ends[order])
    with h5py.File(out_path, "w") as out:
        out.create_dataset("predictions", data=stored.astype(np.float16), chunks=(1,) + p.shape[1:],
                           compression="gzip")
        if layout is not None:
            out.attrs["padded_minus_layout"] = layout
        if with_keys:
            out["data/seqids"] = seqids[order]
            out["data/start_ends"] = start_ends[order]
    return p


@pytest.fixture
def mini(test_data, tmp_path):
    labels = tmp_path / "labels.h5"
    shutil.copyfile(test_data / MINI, labels)
    return labels


def exact_discrepancy(labels_path, p):
    with h5py.File(labels_path, "r") as f:
        y = f["data/y"][:].astype(np.float64)
    p = p.astype(np.float16).astype(np.float64)
    labelled = y.sum(axis=-1, keepdims=True) > 0
    return (np.abs(y - p) * labelled).sum(axis=(1, 2)) / y.sum(axis=(1, 2)), y


def test_selection_keeps_lowest_discrepancy_per_stratum(mini, tmp_path):
    predictions = tmp_path / "pred.h5"
    p = blurred_predictions(mini, predictions)
    out = tmp_path / "confident.h5"
    summary = select_confident(mini, predictions, out, keep_fraction=0.5, plot_path=tmp_path / "sel.png")
    expected, y = exact_discrepancy(mini, p)
    intergenic = y[:, :, 0].sum(axis=1) / y.sum(axis=(1, 2))
    strata = stratify(intergenic)
    assert summary.n_target == 14 and summary.n_kept == 14  # all 14 slots used, unlike n//strata upstream
    assert sum(s.n_kept for s in summary.strata) == 14 and len(summary.strata) == len(np.unique(strata))
    with h5py.File(out, "r") as f, h5py.File(mini, "r") as src:
        kept = f["pseudolabel/source_row"][:]
        assert np.all(np.diff(kept) > 0)  # original order
        np.testing.assert_allclose(f["pseudolabel/discrepancy"][:], expected[kept], rtol=1e-6)
        np.testing.assert_array_equal(f["data/y"][:], src["data/y"][kept])
        np.testing.assert_array_equal(f["data/start_ends"][:], src["data/start_ends"][kept])
        assert f["data/X"].dtype == np.float16 and f["data/X"].chunks == (1, 21384, 4)
        assert float(f.attrs["keep_fraction"]) == 0.5 and json.loads(f.attrs["pseudolabel_selection"])["n_kept"] == 14
    for stratum in summary.strata:  # within each stratum every kept row beats every rejected one
        members = np.flatnonzero(strata == stratum.index)
        chosen = np.intersect1d(members, kept)
        rejected = np.setdiff1d(members, kept)
        assert len(chosen) == stratum.n_kept
        if len(rejected):
            assert expected[chosen].max() <= expected[rejected].min()
    assert (tmp_path / "sel.png").read_bytes()[:4] == b"\x89PNG"


def test_padding_first_predictions_are_rotated_back(mini, tmp_path):
    """Upstream 0.3.6 writes padded minus chunks padding-first; rows 12, 25 and 27 of the mini file are such."""
    genome_layout, upstream_layout, unmarked = (tmp_path / f"{n}.h5" for n in ("genome", "upstream", "unmarked"))
    blurred_predictions(mini, genome_layout)
    blurred_predictions(mini, upstream_layout, layout="helixer-0.3.6")
    blurred_predictions(mini, unmarked, layout=None)
    with h5py.File(unmarked, "a") as f:  # an upstream file: no attribute, padding-first
        f["predictions"][...] = rotate_minus_padding_first(f["predictions"][:], f["data/start_ends"][:])
    scores = []
    for path in (genome_layout, upstream_layout, unmarked):
        select_confident(mini, path, tmp_path / f"out_{path.name}", 1.0)
        with h5py.File(tmp_path / f"out_{path.name}") as f:
            scores.append(f["pseudolabel/discrepancy"][:])
    np.testing.assert_array_equal(scores[0], scores[1])
    np.testing.assert_array_equal(scores[0], scores[2])
    wrong = select_confident(mini, upstream_layout, None, 1.0, dry_run=True, padded_minus_layout="genome")
    assert wrong.discrepancy_mean_all > select_confident(mini, upstream_layout, None, 1.0,
                                                         dry_run=True).discrepancy_mean_all


def test_rows_are_matched_by_coordinates_not_position(mini, tmp_path):
    straight, shuffled = tmp_path / "straight.h5", tmp_path / "shuffled.h5"
    blurred_predictions(mini, straight)
    order = np.random.RandomState(3).permutation(28)
    blurred_predictions(mini, shuffled, order=order)
    a = select_confident(mini, straight, tmp_path / "a.h5", 0.3)
    b = select_confident(mini, shuffled, tmp_path / "b.h5", 0.3)
    assert "reordered" in b.alignment and "reordered" not in a.alignment
    with h5py.File(tmp_path / "a.h5") as fa, h5py.File(tmp_path / "b.h5") as fb:
        np.testing.assert_array_equal(fa["pseudolabel/source_row"][:], fb["pseudolabel/source_row"][:])
        np.testing.assert_array_equal(fa["pseudolabel/discrepancy"][:], fb["pseudolabel/discrepancy"][:])
    # upstream's assumption (row i = row i) on the shuffled rows compares unrelated subsequences
    shuffled_no_keys = tmp_path / "shuffled_no_keys.h5"
    blurred_predictions(mini, shuffled_no_keys, order=order, with_keys=False)
    c = select_confident(mini, shuffled_no_keys, tmp_path / "c.h5", 0.3, assume_aligned=True)
    assert c.alignment.startswith("assumed")
    with h5py.File(tmp_path / "a.h5") as fa, h5py.File(tmp_path / "c.h5") as fc:
        assert not np.array_equal(fa["pseudolabel/discrepancy"][:], fc["pseudolabel/discrepancy"][:])


def test_predictions_that_do_not_line_up_are_refused(mini, tmp_path, capsys):
    before = digest(mini)
    no_keys = tmp_path / "no_keys.h5"
    blurred_predictions(mini, no_keys, with_keys=False)
    with pytest.raises(InputFileError, match="cannot be matched"):
        select_confident(mini, no_keys, tmp_path / "o.h5")
    # the genome file they came from gives the keys
    genome = tmp_path / "genome.h5"
    with h5py.File(mini) as src, h5py.File(genome, "w") as g:
        g["data/seqids"], g["data/start_ends"] = src["data/seqids"][:], src["data/start_ends"][:]
    assert select_confident(mini, no_keys, tmp_path / "o.h5", genome_h5=genome).n_kept == 5
    # a predictions file of other subsequences (rows 0-19 only)
    partial = tmp_path / "partial.h5"
    blurred_predictions(mini, tmp_path / "full.h5")
    with h5py.File(tmp_path / "full.h5") as src, h5py.File(partial, "w") as out:
        copy_row_subset(src, out, np.arange(20))
    status = cli_main(["select-confident", "--h5-to-filter", str(mini), "--predictions", str(partial),
                       "--output-file", str(tmp_path / "x.h5")])
    err = capsys.readouterr().err.strip()
    assert status == 1 and "has no subsequence NW_003315900.1" in err and "\n" not in err
    # assumed alignment still checks the row count
    with pytest.raises(InputFileError, match="rows cannot line up"):
        with h5py.File(tmp_path / "partial_nokeys.h5", "w") as out, h5py.File(partial) as src:
            out["predictions"] = src["predictions"][:]
        select_confident(mini, tmp_path / "partial_nokeys.h5", tmp_path / "x.h5", assume_aligned=True)
    # another subsequence length
    with h5py.File(tmp_path / "short.h5", "w") as out:
        out["predictions"] = np.zeros((28, 1000, 4), np.float16)
    with pytest.raises(InputFileError, match="another subsequence length"):
        select_confident(mini, tmp_path / "short.h5", tmp_path / "x.h5")
    assert not (tmp_path / "x.h5").exists() and digest(mini) == before


@pytest.mark.parametrize("fraction", [0, -0.1, 1.5])
def test_keep_fraction_outside_range(mini, tmp_path, fraction, capsys):
    predictions = tmp_path / "pred.h5"
    blurred_predictions(mini, predictions)
    status = cli_main(["select-confident", "--h5-to-filter", str(mini), "--predictions", str(predictions),
                       "--keep-fraction", str(fraction), "--output-file", str(tmp_path / "o.h5")])
    assert status == 1 and "--keep-fraction must be in (0, 1]" in capsys.readouterr().err
    assert not (tmp_path / "o.h5").exists()


def test_small_inputs_keep_at_least_one_row(mini, tmp_path):
    """Upstream keeps n // n_strata per stratum: 2 rows, keep 0.5, 2 strata -> 0 rows. Here: 1 row."""
    two = tmp_path / "two.h5"
    with h5py.File(mini) as src, h5py.File(two, "w") as out:
        copy_row_subset(src, out, np.array([0, 26]))  # a gene-rich and a gene-poor subsequence
    predictions = tmp_path / "pred.h5"
    blurred_predictions(two, predictions)
    summary = select_confident(two, predictions, tmp_path / "o.h5", keep_fraction=0.5)
    assert summary.n_kept == 1
    assert allocate([5, 1, 0, 9], 12) == [5, 1, 0, 6]
    assert allocate([3, 3, 3], 4) == [2, 1, 1] and sum(allocate([100, 2], 50)) == 50
    with pytest.raises(HelixtuneError, match="overwrite an input"):
        select_confident(two, predictions, two)


@pytest.mark.shared
def test_real_predictions_float64_sums_versus_upstream_float16(tmp_path):
    """Upstream predictions of a small upstream model on the Micromonas file: our sums are exact, upstream's
    float16 sums saturate, and that changes which rows upstream's procedure would keep."""
    labels = shared_file("reference_outputs/micromonas_mini.geenuff2h5.h5")
    predictions = shared_file("reference_models/small_default.predictions.h5")
    out = tmp_path / "confident.h5"
    # the predictions file names its genome file relative to where it was made; it is found from there
    summary = select_confident(labels, predictions, out, keep_fraction=0.5)
    assert "genome file" in summary.alignment
    with h5py.File(labels) as f, h5py.File(predictions) as g:
        y, p = f["data/y"][:], g["predictions"][:]
    labelled = y.sum(axis=-1, keepdims=True) > 0
    exact = (np.abs(y.astype(np.float64) - p.astype(np.float64)) * labelled).sum(axis=1)
    upstream = np.sum(np.abs(y - np.where(labelled, p, np.float16(0))), axis=1)  # float16 accumulation
    assert upstream.dtype == np.float16
    ours = exact.sum(axis=1) / y.sum(axis=(1, 2))
    # upstream 0.3.9 wrote the padded minus rows (12, 25, 27) padding-first; ours reads them rotated back
    with h5py.File(labels) as f:
        rotated = h5layout.rotate_minus_padding_last(p, f["data/start_ends"][:])
    exact_rotated = (np.abs(y.astype(np.float64) - rotated.astype(np.float64)) * labelled).sum(axis=(1, 2))
    assert not np.allclose(exact_rotated[12], exact[12].sum())
    ours = exact_rotated / y.sum(axis=(1, 2))
    with h5py.File(out) as f:
        rows = f["pseudolabel/source_row"][:]
        np.testing.assert_allclose(f["pseudolabel/discrepancy"][:], ours[rows], rtol=1e-6)
    relative_error = np.abs(upstream.astype(np.float64) - exact) / np.maximum(exact, 1)
    assert relative_error.max() > 0.05  # saturation is real on real data: more than 5 % off somewhere
