"""Each fine-tune mode on real data: validation genic F1 of the starting model vs. after tuning.

Starts from upstream's `small_default.h5` (a Keras model trained by upstream Helixer on the Micromonas split)
and tunes it on the reference splits shipped with the shared data:
  whole, head, head+hidden  on  reference_models/data/micromonas_split
  coverage (+ hidden)       on  reference_models/data/spombe_cov_split (S. pombe with RNA-seq coverage)
For each run it prints the F1 of the base model, of the model as training starts (new layers at their
initial values) and the best F1 reached.

The new final layer of `head` and `coverage` starts as the pretrained one (helixtune's default), so their
start F1 is the base model's; `head+hidden` and `coverage+hidden` start with new random layers.

Usage: python bench/train_fine_tune_modes.py SHARED_DATA_DIR OUT_DIR [--epochs 5] [--modes whole,head,...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def validation_f1(model, val_files, coverage: bool) -> float:
    from torch.utils.data import DataLoader

    from helixtune.train.data import ChunkDataset, DataOptions, collate
    from helixtune.train.module import HelixerTrainingModule

    dataset = ChunkDataset(val_files, "val", DataOptions(pool_size=model.pool_size, input_coverage=coverage,
                                                         predict_phase=model.predict_phase))
    loader = DataLoader(dataset, batch_size=8, collate_fn=collate)
    return HelixerTrainingModule(model).evaluate(loader).genic_f1


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("shared_data")
    parser.add_argument("out_dir")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--modes", default="whole,head,head+hidden,coverage,coverage+hidden")
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="frozen modes (whole: a tenth)")
    args = parser.parse_args()

    from helixtune.train import TrainConfig, train_model
    from helixtune.train.finetune import build_training_model, load_pretrained
    from helixtune.model import model_file

    shared = Path(args.shared_data) / "reference_models"
    base_path = shared / "small_default.h5"
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    weights = dict(class_weights=[0.7, 1.6, 1.2, 1.2], transition_weights=[1, 12, 3, 1, 12, 3])
    results = []
    for name in args.modes.split(","):
        coverage = name.startswith("coverage")
        mode = "coverage" if coverage else name
        data = shared / "data" / ("spombe_cov_split" if coverage else "micromonas_split")
        val_files = [data / "validation_data.h5"]
        config = TrainConfig(data_dir=str(data), save_model_path=str(out / f"{name}.safetensors"),
                             load_model_path=str(base_path), fine_tune_mode=mode, input_coverage=coverage,
                             coverage_norm="log" if coverage else None,
                             post_coverage_hidden_layer=name == "coverage+hidden",
                             epochs=args.epochs, batch_size=4, val_test_batch_size=8, patience=args.epochs,
                             learning_rate=args.learning_rate / (10 if mode == "whole" else 1), restart=True,
                             **weights)
        base, _ = load_pretrained(base_path)
        base_f1 = validation_f1(base, val_files, coverage=False)
        import lightning.pytorch as pl

        pl.seed_everything(config.seed, verbose=False)
        start_model, _ = build_training_model(config, 1 if coverage else 0)
        start_f1 = validation_f1(start_model.eval(), val_files, coverage)
        t0 = time.time()
        path = train_model(config, verbose=False)
        tuned, _ = model_file.load_model(path)
        tuned_f1 = validation_f1(tuned, val_files, coverage)
        row = {"mode": name, "data": data.name, "base_model_f1": round(base_f1, 4), "start_f1": round(start_f1, 4),
               "tuned_f1": round(tuned_f1, 4), "improved_over_start": tuned_f1 > start_f1,
               "minutes": round((time.time() - t0) / 60, 2)}
        print(json.dumps(row), flush=True)
        results.append(row)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
