"""Rebuild the fixtures of this folder from the reference model folder (upstream Keras models + predictions).

usage: python make_fixtures.py REFERENCE_MODELS_DIR

Copies the small upstream Keras models and the S. pombe coverage test file unchanged, and samples the upstream
prediction files: every row, every STRIDE-th base (the network sees whole rows; only the stored values are
thinned to keep this folder small).
"""

import shutil
import sys
from pathlib import Path

import h5py

STRIDE = 16
MODELS = ("small_default", "small_nophase", "small_default_ft", "small_default_ftcov", "small_default_ftcov_hidden")
HERE = Path(__file__).resolve().parent


def main(reference: Path) -> None:
    for name in MODELS:
        shutil.copyfile(reference / f"{name}.h5", HERE / f"{name}.h5")
    shutil.copyfile(reference / "data" / "spombe_cov_test.h5", HERE / "spombe_cov_test.h5")
    with h5py.File(HERE / "upstream_predictions_sampled.h5", "w") as out:
        out.attrs["stride"] = STRIDE
        for name in MODELS:
            with h5py.File(reference / f"{name}.predictions.h5", "r") as src:
                group = out.create_group(name)
                for key in ("predictions", "predictions_phase"):
                    if key in src:
                        values = src[key][:, ::STRIDE]
                        group.create_dataset(key, data=values, compression="gzip", shuffle=True,
                                             chunks=(1,) + values.shape[1:])
                for key in ("model_md5sum", "test_data_path"):
                    if key in src.attrs:
                        group.attrs[key] = src.attrs[key]


if __name__ == "__main__":
    main(Path(sys.argv[1]))
