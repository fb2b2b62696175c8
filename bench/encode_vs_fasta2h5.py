"""Encode a genome with helixtune and with upstream fasta2h5.py in the same run; print times, ratio, peak memory.

Usage:
    python bench/encode_vs_fasta2h5.py --fasta genome.fa.gz [--fasta2h5 PEER_BIN/fasta2h5.py] [--copies 1 10]

For each `--copies` value the genome is repeated that many times (records renamed `<id>_copyK`) so the
input grows while every sequence stays the same size. `--one-sequence` concatenates the copies into a
single record instead, which shows that memory does not grow with sequence length either. Peak resident
memory is the child's maximum RSS as reported by the kernel (`wait4`).
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np


def run_measured(command: list[str], python_env=None) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of one command."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=python_env)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    stderr = process.stderr.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"command failed: {' '.join(command)}\n{stderr[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024


def make_input(fasta: Path, copies: int, one_sequence: bool, folder: Path) -> Path:
    """Write the repeated genome line by line, so this process stays small (a forked child starts with
    the parent's resident pages, which would count towards the child's peak memory)."""
    opener = gzip.open if fasta.open("rb").read(2) == b"\x1f\x8b" else open
    out = folder / f"genome_x{copies}{'_one' if one_sequence else ''}.fa"
    with open(out, "wb") as dst:
        if one_sequence:
            dst.write(b">concatenated\n")
        for copy in range(copies):
            with opener(fasta, "rb") as handle:
                for line in handle:
                    if line.startswith(b">"):
                        if one_sequence:
                            continue
                        if copies > 1:
                            line = b">copy%d_" % copy + line[1:]
                    dst.write(line)
    return out


def same_content(a: Path, b: Path) -> bool:
    """Row by row, so that this process stays small (see make_input)."""
    with h5py.File(a) as x, h5py.File(b) as y:
        for name in ("X", "seqids", "species", "start_ends"):
            ours, theirs = x[f"data/{name}"], y[f"data/{name}"]
            if ours.shape != theirs.shape or ours.dtype != theirs.dtype:
                return False
            if not all(np.array_equal(ours[i], theirs[i]) for i in range(ours.shape[0])):
                return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fasta", required=True, type=Path)
    parser.add_argument("--fasta2h5", type=Path, default=None,
                        help="upstream fasta2h5.py in its own environment (skipped when not given or absent)")
    parser.add_argument("--copies", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--one-sequence", action="store_true")
    parser.add_argument("--subsequence-length", type=int, default=21384)
    parser.add_argument("--keep", type=Path, default=None, help="keep the inputs/outputs in this folder")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="encode-bench-")) if args.keep is None else args.keep
    folder.mkdir(parents=True, exist_ok=True)
    helixtune = [sys.executable, "-m", "helixtune", "encode"]
    upstream = None
    if args.fasta2h5 is not None and args.fasta2h5.exists():
        upstream = [str(args.fasta2h5.parent / "python"), str(args.fasta2h5)]
    print(f"{'input':<22}{'tool':<12}{'seconds':>10}{'peak MiB':>10}")
    try:
        for copies in args.copies:
            fasta = make_input(args.fasta, copies, args.one_sequence, folder)
            label = f"{copies}x {fasta.stat().st_size / 1e6:.0f} MB"
            ours = folder / f"ours_x{copies}.h5"
            t_ours, m_ours = run_measured(helixtune + ["--fasta-path", str(fasta), "--h5-output-path", str(ours),
                                                       "--species", "bench", "--subsequence-length",
                                                       str(args.subsequence_length)])
            print(f"{label:<22}{'helixtune':<12}{t_ours:>10.2f}{m_ours:>10.0f}", flush=True)
            if upstream:
                theirs = folder / f"upstream_x{copies}.h5"
                t_up, m_up = run_measured(upstream + ["--fasta-path", str(fasta), "--h5-output-path", str(theirs),
                                                      "--species", "bench", "--subsequence-length",
                                                      str(args.subsequence_length)])
                print(f"{label:<22}{'fasta2h5':<12}{t_up:>10.2f}{m_up:>10.0f}", flush=True)
                print(f"{label:<22}{'ratio':<12}{t_up / t_ours:>9.1f}x faster; memory {m_ours / m_up:.2f} of "
                      f"upstream's; identical datasets: {same_content(ours, theirs)}", flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
