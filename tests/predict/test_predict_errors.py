"""Bad input to `helixtune predict`: a one-line error naming the file, exit status 1, no output file."""

from __future__ import annotations

import json
import shutil

import h5py
import numpy as np
import pytest

from helixtune.cli import main


def _copy_without(src, dst, drop=(), rows=slice(None), columns=None):
    with h5py.File(src, "r") as a, h5py.File(dst, "w") as b:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and name not in drop:
                data = obj[rows]
                if columns is not None and data.ndim >= 2 and data.shape[1] == obj.shape[1] and name != "data/start_ends":
                    data = data[:, columns]
                b.create_dataset(name, data=data)
        a.visititems(visit)
    return dst


def _run_fails(argv, capsys, output, *needles):
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err
    assert not output.exists()
    assert not list(output.parent.glob(f".{output.name}*"))  # no partial file left either


def test_model_file_that_is_not_a_model(tmp_path, mini_h5, capsys):
    fake = tmp_path / "model.safetensors"
    fake.write_text("not a model\n")
    out = tmp_path / "p.h5"
    _run_fails(["predict", "-l", str(fake), "-t", str(mini_h5), "-p", str(out)], capsys, out, "model.safetensors",
               "not a helixtune model")
    _run_fails(["predict", "-l", str(mini_h5), "-t", str(mini_h5), "-p", str(out)], capsys, out,
               "not a Keras model")


def test_keras_file_of_another_architecture(tmp_path, model_dir, mini_h5, capsys):
    other = tmp_path / "other.h5"
    shutil.copyfile(model_dir / "small_default.h5", other)
    with h5py.File(other, "r+") as h5:
        config = json.loads(h5.attrs["model_config"])
        config["config"]["layers"][3]["config"]["layer"]["class_name"] = "GRU"
        h5.attrs["model_config"] = json.dumps(config)
    out = tmp_path / "p.h5"
    _run_fails(["predict", "-l", str(other), "-t", str(mini_h5), "-p", str(out)], capsys, out, "other.h5",
               "not an upstream HybridModel")


def test_test_file_without_data_x(tmp_path, model_dir, mini_h5, capsys):
    test_h5 = _copy_without(mini_h5, tmp_path / "noX.h5", drop=("data/X",))
    out = tmp_path / "p.h5"
    _run_fails(["predict", "-l", str(model_dir / "small_default.h5"), "-t", str(test_h5), "-p", str(out)], capsys,
               out, "noX.h5", "data/X")


def test_length_not_divisible_by_pool_size(tmp_path, model_dir, mini_h5, capsys):
    test_h5 = _copy_without(mini_h5, tmp_path / "odd.h5", rows=slice(0, 2), columns=slice(0, 1000))
    with h5py.File(test_h5, "r+") as h5:
        h5["data/start_ends"][:] = np.array([[0, 1000], [1000, 2000]])
    out = tmp_path / "p.h5"
    _run_fails(["predict", "-l", str(model_dir / "small_default.h5"), "-t", str(test_h5), "-p", str(out)], capsys,
               out, "odd.h5", "1000 is not divisible", "pool size 9")


def test_coverage_model_without_coverage(tmp_path, model_dir, mini_h5, capsys):
    out = tmp_path / "p.h5"
    _run_fails(["predict", "-l", str(model_dir / "small_default_ftcov.h5"), "--coverage-norm", "log",
                "-t", str(mini_h5), "-p", str(out)], capsys, out, str(mini_h5), "evaluation/rnaseq_coverage")
    _run_fails(["predict", "-l", str(model_dir / "small_default_ftcov.h5"), "-t", str(model_dir / "spombe_cov_test.h5"),
                "-p", str(out)], capsys, out, "--coverage-norm")


@pytest.mark.parametrize("extra, needle", [(["--overlap", "--overlap-offset", "20000", "--overlap-core-length", "100"],
                                            "must not exceed"),
                                           (["--batch-size", "0"], "batch-size")])
def test_bad_options(tmp_path, model_dir, mini_h5, capsys, extra, needle):
    out = tmp_path / "p.h5"
    _run_fails(["predict", "-l", str(model_dir / "small_default.h5"), "-t", str(mini_h5), "-p", str(out)] + extra,
               capsys, out, needle)


def test_overlap_needs_sequence_ids(tmp_path, model_dir, mini_h5, capsys):
    test_h5 = _copy_without(mini_h5, tmp_path / "noids.h5", drop=("data/seqids",), rows=slice(0, 3))
    out = tmp_path / "p.h5"
    _run_fails(["predict", "-l", str(model_dir / "small_default.h5"), "-t", str(test_h5), "-p", str(out), "--overlap"],
               capsys, out, "noids.h5", "data/seqids")


def test_freed_prediction_buffers_stay_in_the_heap_for_reuse():
    import ctypes
    import sys

    from helixtune.predict.engine import keep_freed_memory_in_process

    if not sys.platform.startswith("linux") or not keep_freed_memory_in_process():
        pytest.skip("needs glibc's mallopt")

    class MallInfo2(ctypes.Structure):  # glibc >= 2.33
        _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                                         "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

    libc = ctypes.CDLL(None)
    if not hasattr(libc, "mallinfo2"):
        pytest.skip("glibc without mallinfo2")
    libc.mallinfo2.restype = MallInfo2
    size = 100_000_000
    buffer = np.ones(size // 8)
    during = libc.mallinfo2()
    del buffer
    after = libc.mallinfo2()
    # served from the heap, not mapped on its own (glibc's default for blocks over 32 MB) ...
    assert during.hblkhd < size and during.uordblks >= size
    # ... and kept there after free, not returned to the kernel, so the next batch reuses it
    assert after.fordblks >= size
