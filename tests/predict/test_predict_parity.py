"""`helixtune predict` writes upstream's predictions: values, layout of padded minus chunks, attributes."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from modelhelpers import upstream_sampled
from helixtune.cli import main
from helixtune.h5layout import rotate_minus_padding_last


def _subset_h5(src, dst, rows):
    """Copy rows of every data/ dataset (the validation file upstream's fine-tuned model was run on)."""
    with h5py.File(src, "r") as a, h5py.File(dst, "w") as b:
        for name in ("data/X", "data/seqids", "data/species", "data/start_ends"):
            b.create_dataset(name, data=a[name][rows], chunks=(1,) + a[name].shape[1:], compression="gzip")
    return dst


CASES = {
    "small_default": ("mini", None),
    "small_nophase": ("mini", None),
    "small_default_ft": ("mini_20_28", None),
    "small_default_ftcov": ("cov", "log"),
    "small_default_ftcov_hidden": ("cov", "log"),
}


def _test_file(kind, tmp_path, model_dir, mini_h5):
    if kind == "mini":
        return mini_h5
    if kind == "cov":
        return model_dir / "spombe_cov_test.h5"
    return _subset_h5(mini_h5, tmp_path / "validation.h5", slice(20, 28))


@pytest.mark.parametrize("name", list(CASES))
def test_predict_matches_upstream_files(name, tmp_path, model_dir, mini_h5):
    kind, norm = CASES[name]
    test_h5 = _test_file(kind, tmp_path, model_dir, mini_h5)
    compat = tmp_path / "compat.h5"
    genome = tmp_path / "genome.h5"
    common = ["predict", "-l", str(model_dir / f"{name}.h5"), "-t", str(test_h5), "--batch-size", "5",
              "--threads", "2"] + (["--coverage-norm", norm] if norm else [])
    # default precision (bfloat16 convolutions and BiLSTM products where the CPU has bfloat16 units) vs plain
    # float32: the comparison covers every position, the upstream comparison a sample of them
    assert main(common + ["-p", str(compat), "--padded-minus-layout", "helixer-0.3.6"]) == 0
    assert main(common + ["-p", str(genome), "--precision", "float32"]) == 0
    stride, expected = upstream_sampled(model_dir, name)
    with h5py.File(compat, "r") as c, h5py.File(genome, "r") as g, h5py.File(test_h5, "r") as t:
        assert sorted(c.keys()) == sorted(expected)
        start_ends = t["data/start_ends"][:]
        for key in expected:
            assert c[key].dtype == np.float16 and c[key].chunks == (1,) + c[key].shape[1:]
            ours = c[key][:]
            assert np.abs(ours[:, ::stride].astype(np.float32) - expected[key]).max() <= 1e-3
            # default layout: padded minus chunks rotated back so bases line up with the genome file
            back = rotate_minus_padding_last(ours, start_ends).astype(np.float32)
            # bfloat16 BiLSTM products (where the CPU has AVX512-BF16) move the small models by up to ~6e-4
            tolerance = 1e-3 if c.attrs["precision"] == "bfloat16" else 5e-4
            assert np.abs(g[key][:].astype(np.float32) - back).max() <= tolerance
        minus_padded = (start_ends[:, 0] > start_ends[:, 1]) & (np.abs(start_ends[:, 0] - start_ends[:, 1]) < ours.shape[1])
        assert minus_padded.any()
        md5, path = c.attrs["model_md5sum"].split("  ")
        assert isinstance(c.attrs["model_md5sum"], str) and len(md5) == 32 and path.endswith(f"{name}.h5")
        assert c.attrs["n_bases_removed"] == 0 and c.attrs["model_config"].startswith('{"class_name"')
        assert g.attrs["padded_minus_layout"] == "genome"


def test_predict_with_converted_model_equals_keras_model(tmp_path, model_dir, mini_h5):
    converted = tmp_path / "m.safetensors"
    assert main(["convert-model", str(model_dir / "small_default_ftcov.h5"), str(converted),
                 "--coverage-norm", "log", "--pretrained-model-path", str(model_dir / "small_default.h5")]) == 0
    test_h5 = str(model_dir / "spombe_cov_test.h5")
    assert main(["predict", "-l", str(converted), "-t", test_h5, "-p", str(tmp_path / "a.h5")]) == 0
    assert main(["predict", "-l", str(model_dir / "small_default_ftcov.h5"), "--coverage-norm", "log",
                 "--pretrained-model-path", str(model_dir / "small_default.h5"), "-t", test_h5,
                 "-p", str(tmp_path / "b.h5")]) == 0
    with h5py.File(tmp_path / "a.h5", "r") as a, h5py.File(tmp_path / "b.h5", "r") as b:
        for key in ("predictions", "predictions_phase"):
            assert np.array_equal(a[key][:], b[key][:])
        assert a.attrs["model_config"] == b.attrs["model_config"]  # upstream's config travels with the model
