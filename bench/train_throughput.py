"""Training throughput (samples/s) of the released-size network: helixtune vs upstream Helixer, same batches.

Both sides run optimizer steps (forward, loss with class + transition weights, backward, AdamW) on the same
real batches of the Micromonas training split (21,384-bp chunks), after warm-up steps:
- helixtune: `HelixerTrainingModule.compute_loss` + backward + `KerasAdamW.step` (what `helixtune train` runs
  per batch, without Lightning's bookkeeping);
- upstream: `HybridModel(...)` built from upstream's own classes (TensorFlow, Keras `train_on_batch` on
  batches from upstream's `HybridSequence` generator), in the upstream environment.

Usage:
    python bench/train_throughput.py DATA_DIR [--upstream-python PEERS/helixer/bin/python] [--steps 4]
           [--batch-size 4] [--device cpu|cuda] [--threads N]
DATA_DIR holds training_data.h5 (e.g. reference_models/data/micromonas_split of the shared data).
Prints one JSON line per side and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time

RELEASED = dict(cnn_layers=4, filter_depth=96, kernel_size=10, lstm_layers=3, units=128, pool_size=9)
CW = [0.7, 1.6, 1.2, 1.2]
TW = [1, 12, 3, 1, 12, 3]

UPSTREAM = textwrap.dedent("""
    import json, os, sys, time
    os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'
    import tensorflow as tf
    threads = int(sys.argv[4])
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    from helixer.prediction.HybridModel import HybridModel, HybridSequence
    data, steps, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    hm = HybridModel(cli_args=['-d', data, '-b', str(batch), '--cnn-layers', '4', '--filter-depth', '96',
                               '--kernel-size', '10', '--lstm-layers', '3', '--units', '128', '--pool-size', '9',
                               '--class-weights', '[0.7, 1.6, 1.2, 1.2]',
                               '--transition-weights', '[1, 12, 3, 1, 12, 3]'])
    hm.open_data_files()
    model = hm.model()
    hm.set_optimizer()
    hm.compile_model(model)
    gen = HybridSequence(model=hm, h5_files=hm.h5_trains, mode='train', batch_size=batch, shuffle=False)
    batches = [gen[i % len(gen)] for i in range(steps + 1)]
    X, y, sw = batches[0]
    model.train_on_batch(X, y, sample_weight=sw)  # warm-up (graph tracing)
    t = time.perf_counter()
    for X, y, sw in batches[1:]:
        model.train_on_batch(X, y, sample_weight=sw)
    elapsed = time.perf_counter() - t
    print(json.dumps({'side': 'upstream', 'steps': steps, 'batch_size': batch, 'seconds': elapsed,
                      'samples_per_s': steps * batch / elapsed, 'params': int(model.count_params())}))
""")


def ours(data_dir: str, steps: int, batch: int, device: str) -> dict:
    import numpy as np
    import torch

    from helixtune.model.network import HybridModel, HybridModelConfig, keras_parameter_count
    from helixtune.train.data import ChunkDataset, DataOptions, stack_batch
    from helixtune.train.module import HelixerTrainingModule

    torch.manual_seed(0)
    model = HybridModel(HybridModelConfig(**RELEASED)).to(device)
    module = HelixerTrainingModule(model).to(device)
    optimizer = module.configure_optimizers()
    dataset = ChunkDataset([os.path.join(data_dir, "training_data.h5")], "train",
                           DataOptions(class_weights=CW, transition_weights=TW))
    n = len(dataset)
    batches = []
    for i in range(steps + 1):
        rows = [(i * batch + j) % n for j in range(batch)]
        arrays = stack_batch(dataset, rows)
        batches.append({k: torch.from_numpy(np.ascontiguousarray(v)).to(device) for k, v in arrays.items()})

    def step(b):
        optimizer.zero_grad(set_to_none=True)
        loss = module.compute_loss(b)["loss"]
        loss.backward()
        optimizer.step()

    model.train()
    step(batches[0])  # warm-up
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t = time.perf_counter()
    for b in batches[1:]:
        step(b)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - t
    out = {"side": "helixtune", "steps": steps, "batch_size": batch, "seconds": elapsed,
           "samples_per_s": steps * batch / elapsed, "params": keras_parameter_count(model), "device": device}
    if device.startswith("cuda"):
        out["card"] = torch.cuda.get_device_name(0)
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir")
    parser.add_argument("--upstream-python", default=None)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for both sides (0: library default)")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    results = {}
    if args.upstream_python:
        with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
            handle.write(UPSTREAM)
        done = subprocess.run([args.upstream_python, handle.name, args.data_dir, str(args.steps),
                               str(args.batch_size), str(args.threads)], capture_output=True, text=True)
        os.unlink(handle.name)
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            return 1
        results["upstream"] = json.loads(done.stdout.strip().splitlines()[-1])
        print(json.dumps(results["upstream"]), flush=True)
    results["helixtune"] = ours(args.data_dir, args.steps, args.batch_size, args.device)
    print(json.dumps(results["helixtune"]), flush=True)
    if "upstream" in results:
        ratio = results["helixtune"]["samples_per_s"] / results["upstream"]["samples_per_s"]
        print(json.dumps({"speedup_helixtune_over_upstream": round(ratio, 3), "goal": 1.5}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
