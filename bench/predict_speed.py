"""Prediction throughput: `helixtune predict` vs upstream `HybridModel.py` (TensorFlow), same weights, same run.

Runs both commands on the same genome h5 (default: S. pombe chromosome I, 522 subsequences of 21,384 bp) with
the same Keras model (default: the released-size reference model, 2.1 M parameters), checks that the outputs
agree, and prints strand-bases per second (real bases of all subsequences, both strands, per second of wall
time of the whole command, start-up included), the same per CPU-second (user + system time of the command:
less sensitive to other load on a shared machine), and the ratios.

    python bench/predict_speed.py [--genome G.h5] [--model M.h5] [--chunks N] [--batch-size 32] [--overlap]
                                  [--device cpu|cuda] [--upstream-python PEERS/helixer/bin/python]

--chunks N predicts only N subsequences (N/2 from each strand) for a quicker run. Without the upstream peer
(or with --no-upstream) only helixtune is measured.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

REPOSITORY = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HELIXTUNE_SHARED_DATA", REPOSITORY.parent / "shared" / "data"))
PEERS = Path(os.environ.get("PEERS", "/tmp/peers"))


def subset(genome: Path, out: Path, n_chunks: int) -> Path:
    with h5py.File(genome, "r") as src:
        start_ends = src["data/start_ends"][:]
        minus = np.flatnonzero(start_ends[:, 0] > start_ends[:, 1])
        plus = np.flatnonzero(start_ends[:, 0] < start_ends[:, 1])
        rows = np.concatenate([plus[:n_chunks // 2], minus[:n_chunks - n_chunks // 2]])
        with h5py.File(out, "w") as dst:
            for name in ("data/X", "data/seqids", "data/species", "data/start_ends"):
                data = src[name][rows]
                dst.create_dataset(name, data=data, chunks=(1,) + data.shape[1:], compression="gzip",
                                   shuffle=data.ndim > 1)
    return out


def timed(command: list[str], log: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds user + system) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with open(log, "w") as handle:
        result = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode:
        sys.exit(f"command failed ({result.returncode}), see {log}: {' '.join(command)}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu


def strand_bases(genome: Path) -> int:
    with h5py.File(genome, "r") as h5:
        se = h5["data/start_ends"][:]
    return int(np.abs(se[:, 1] - se[:, 0]).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--genome", type=Path, default=SHARED / "reference_outputs" / "spombe_chrI.fasta2h5.h5")
    parser.add_argument("--model", type=Path, default=SHARED / "reference_models" / "released_size.h5")
    parser.add_argument("--chunks", type=int, default=0, help="predict only this many subsequences (0: all)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--overlap", action="store_true")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="helixtune --threads (default: all cores)")
    parser.add_argument("--mixed-precision", action="store_true")
    parser.add_argument("--precision", default="auto",
                        help="helixtune --precision (auto, float32, bfloat16-conv, bfloat16)")
    parser.add_argument("--upstream-python", type=Path, default=PEERS / "helixer" / "bin" / "python")
    parser.add_argument("--no-upstream", action="store_true")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="predict_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    genome = args.genome.resolve()
    if args.chunks:
        genome = subset(genome, work / "genome.h5", args.chunks)
    model = args.model.resolve()
    bases = strand_bases(genome)
    with h5py.File(genome, "r") as h5:
        n_rows, length = h5["data/X"].shape[:2]
    print(f"genome {args.genome.name}: {n_rows} subsequences of {length} bp, {bases:,} strand-bases; "
          f"model {model.name}; batch {args.batch_size}; overlap {args.overlap}; {os.cpu_count()} CPUs")

    ours_out = work / "helixtune.h5"
    command = [sys.executable, "-m", "helixtune", "predict", "-l", str(model), "-t", str(genome), "-p", str(ours_out),
               "-b", str(args.batch_size), "--device", args.device, "--padded-minus-layout", "helixer-0.3.6"]
    command += ["--threads", str(args.threads)] if args.threads else []
    command += ["--mixed-precision"] if args.mixed_precision else []
    command += ["--precision", args.precision]
    overlap = ["--overlap"] if args.overlap else []
    ours, ours_cpu = timed(command + overlap, work / "helixtune.log")
    device = args.device
    if device.startswith("cuda"):
        import torch
        device = f"{device} ({torch.cuda.get_device_name(0)})"
    print(f"helixtune predict ({device}, precision {args.precision}): {ours:8.1f} s wall {bases / ours:12,.0f} strand-bases/s; "
          f"{ours_cpu:8.1f} CPU-s {bases / ours_cpu:12,.0f} strand-bases per CPU-second")

    upstream_python = args.upstream_python
    if args.no_upstream or not upstream_python.exists():
        print("upstream HybridModel.py: not run (peer not installed or --no-upstream)")
        return
    script = upstream_python.parent / "HybridModel.py"
    up_out = work / "upstream.h5"
    up_command = [str(upstream_python), str(script), "-l", str(model), "-t", str(genome), "-p", str(up_out),
                  "--val-test-batch-size", str(args.batch_size)] + overlap
    env_note = "TensorFlow CPU"
    upstream, upstream_cpu = timed(up_command, work / "upstream.log")
    print(f"upstream HybridModel.py ({env_note}): {upstream:8.1f} s wall {bases / upstream:12,.0f} strand-bases/s; "
          f"{upstream_cpu:8.1f} CPU-s {bases / upstream_cpu:12,.0f} strand-bases per CPU-second")
    print(f"speed-up helixtune / upstream: {upstream / ours:.2f}x wall time, {upstream_cpu / ours_cpu:.2f}x CPU time "
          f"(wall time depends on other load on the machine; CPU time much less)")
    with h5py.File(ours_out, "r") as a, h5py.File(up_out, "r") as b:
        for key in ("predictions", "predictions_phase"):
            diff = 0.0
            for i in range(0, a[key].shape[0], 64):
                diff = max(diff, float(np.abs(a[key][i:i + 64].astype(np.float32)
                                              - b[key][i:i + 64].astype(np.float32)).max()))
            print(f"max |helixtune - upstream| {key}: {diff:.2e}")


if __name__ == "__main__":
    main()
