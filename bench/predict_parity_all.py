"""Parity of `helixtune predict` with upstream for every reference model, with and without --overlap.

For each upstream Keras model in the reference-model folder, predicts its test file with helixtune (in
upstream 0.3.6's padded-minus layout, for a like-for-like comparison) and compares with upstream's saved
prediction file. Where upstream saved no --overlap file, upstream's HybridModel.py (peer) is run with
--overlap in this same run, when installed. Prints max |difference| per model, mode and output.

    python bench/predict_parity_all.py [--reference DIR] [--upstream-python PEERS/helixer/bin/python]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

REPOSITORY = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HELIXTUNE_SHARED_DATA", REPOSITORY.parent / "shared" / "data"))
PEERS = Path(os.environ.get("PEERS", "/tmp/peers"))

MINI = "../reference_outputs/micromonas_mini.geenuff2h5.h5"
VALIDATION = "data/micromonas_split/validation_data.h5"
COVERAGE = "data/spombe_cov_test.h5"
# model -> (test file relative to the reference folder, upstream extra flags, helixtune extra flags)
MODELS = {
    "released_size": (MINI, [], []),
    "small_default": (MINI, [], []),
    "small_nophase": (MINI, [], []),
    "small_default_ft": (VALIDATION, [], []),
    "small_default_ft_hidden": (VALIDATION, [], []),
    "small_default_ftcov": (COVERAGE, ["--input-coverage", "--coverage-norm", "log", "--pretrained-model-path",
                                       "small_default.h5"], ["--coverage-norm", "log"]),
    "small_default_ftcov_hidden": (COVERAGE, ["--input-coverage", "--coverage-norm", "log",
                                              "--post-coverage-hidden-layer", "--pretrained-model-path",
                                              "small_default.h5"], ["--coverage-norm", "log"]),
}
OVERLAP = ["--overlap", "--overlap-offset", "10692", "--core-length", "16038"]


def max_diff(a_path: Path, b_path: Path) -> dict:
    result = {}
    with h5py.File(a_path, "r") as a, h5py.File(b_path, "r") as b:
        if sorted(a.keys()) != sorted(b.keys()):
            return {"datasets differ": float("inf")}
        for key in a:
            result[key] = float(np.abs(a[key][:].astype(np.float32) - b[key][:].astype(np.float32)).max())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", type=Path, default=SHARED / "reference_models")
    parser.add_argument("--upstream-python", type=Path, default=PEERS / "helixer" / "bin" / "python")
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()
    ref = args.reference.resolve()
    work = Path(tempfile.mkdtemp(prefix="parity_"))
    upstream_script = args.upstream_python.parent / "HybridModel.py"
    worst = 0.0
    for name, (test, up_flags, our_flags) in MODELS.items():
        for overlap in (False, True):
            saved = ref / f"{name}.predictions{'_overlap' if overlap else ''}.h5"
            if not saved.exists():
                if not args.upstream_python.exists():
                    print(f"{name:28s} {'overlap' if overlap else 'plain':7s} no upstream file and no peer: skipped")
                    continue
                saved = work / f"{name}.upstream{'_overlap' if overlap else ''}.h5"
                command = [str(args.upstream_python), str(upstream_script), "-l", str(ref / f"{name}.h5"), "-t", test,
                           "-p", str(saved), "--val-test-batch-size", str(args.batch_size)] + up_flags
                command += OVERLAP if overlap else []
                subprocess.run(command, cwd=ref, check=True, capture_output=True,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
                source = "upstream run now"
            else:
                source = "upstream saved file"
            ours = work / f"{name}.ours{'_overlap' if overlap else ''}.h5"
            command = [sys.executable, "-m", "helixtune", "predict", "-l", str(ref / f"{name}.h5"), "-t",
                       str(ref / test), "-p", str(ours), "-b", str(args.batch_size),
                       "--padded-minus-layout", "helixer-0.3.6"] + our_flags
            command += ["--overlap", "--overlap-offset", "10692", "--overlap-core-length", "16038"] if overlap else []
            subprocess.run(command, check=True, capture_output=True)
            diffs = max_diff(ours, saved)
            worst = max(worst, *diffs.values())
            shown = ", ".join(f"{k} {v:.2e}" for k, v in sorted(diffs.items()))
            print(f"{name:28s} {'overlap' if overlap else 'plain':7s} vs {source:19s}: max |diff| {shown}")
    print(f"worst max |diff|: {worst:.2e} ({'within' if worst <= 1e-3 else 'OUTSIDE'} 1e-3)")


if __name__ == "__main__":
    main()
