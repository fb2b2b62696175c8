"""Training throughput (samples/s) of the released-size network: helixtune vs upstream Helixer, same batches.

helixtune is measured in float32 and in bfloat16 autocast (`bf16-mixed`, what `helixtune train` picks by default
on CPUs with native bfloat16 and on GPUs), in the same run as upstream.

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


def ours(data_dir: str, steps: int, batch: int, device: str, precision: str = "32-true") -> dict:
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

    autocast = torch.autocast("cuda" if device.startswith("cuda") else "cpu", dtype=torch.bfloat16,
                              enabled=precision == "bf16-mixed")

    def step(b):
        optimizer.zero_grad(set_to_none=True)
        with autocast:  # as Lightning's bf16-mixed: forward and loss under autocast, backward outside
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
    out = {"side": f"helixtune {precision}", "precision": precision, "steps": steps, "batch_size": batch, "seconds": elapsed,
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
    parser.add_argument("--precisions", default="32-true,bf16-mixed",
                        help="helixtune precisions to measure (default: 32-true,bf16-mixed)")
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
    precisions = args.precisions.split(",")
    for precision in precisions:
        results[precision] = ours(args.data_dir, args.steps, args.batch_size, args.device, precision)
        print(json.dumps(results[precision]), flush=True)
        if "upstream" in results:
            ratio = results[precision]["samples_per_s"] / results["upstream"]["samples_per_s"]
            print(json.dumps({f"speedup_helixtune_{precision}_over_upstream": round(ratio, 3)}), flush=True)
    if "32-true" in results and "bf16-mixed" in results:
        ratio = results["bf16-mixed"]["samples_per_s"] / results["32-true"]["samples_per_s"]
        print(json.dumps({"speedup_bf16_mixed_over_float32": round(ratio, 3)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
