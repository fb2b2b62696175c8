"""Benchmark: `helixtune add-coverage` vs upstream `helixer/evaluation/add_ngs_coverage.py`, same run, same inputs.

Default inputs: the S. pombe chromosome I genome h5 (upstream fasta2h5 output, 522 subsequences of 21,384 bp)
and its two RNA-seq BAMs (the dense 100-kbp Trinity alignment, and the sparse chromosome-wide HISAT2 one).
Each side runs as a separate process (interpreter start-up included) on its own copy of the h5, one after
the other; the script prints wall times, the ratio, and whether the written tracks are identical.

    python bench/add_coverage_speed.py [--data DIR] [--peer-env DIR] [--repeats N] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

REPOSITORY = Path(__file__).resolve().parents[1]


def timed(command: list[str], cwd) -> float:
    """Wall seconds of the child process."""
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{result.stderr[-3000:]}")
    return seconds


def tracks(path) -> tuple[np.ndarray, np.ndarray]:
    with h5py.File(path, "r") as h5:
        return h5["evaluation/rnaseq_coverage"][:], h5["evaluation/rnaseq_spliced_coverage"][:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(REPOSITORY.parent / "shared" / "data"), help="shared data folder")
    parser.add_argument("--peer-env", default=os.path.join(os.environ.get("PEERS", "/tmp/peers"), "helixer"),
                        help="virtual environment of upstream Helixer (with HTSeq)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="both tools' --threads (default 1)")
    args = parser.parse_args()

    data = Path(args.data)
    genome = data / "reference_outputs" / "spombe_chrI.fasta2h5.h5"
    bams = [data / "schizosaccharomyces_pombe" / "SP2.chr.bam",
            data / "schizosaccharomyces_pombe" / "SP2.chrI.trinity_Sp_4conditions.hisat2.bam"]
    peer_python = Path(args.peer_env) / "bin" / "python"
    script = next((Path(args.peer_env) / "lib").glob("python*/site-packages/helixer/evaluation/add_ngs_coverage.py"),
                  None)
    if not peer_python.exists() or script is None:
        sys.exit(f"upstream Helixer environment not found at {args.peer_env}")
    ours = [sys.executable, "-m", "helixtune", "add-coverage"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for label, bam_set in (("Trinity 100 kbp, dense", bams[:1]), ("HISAT2 chromosome-wide, sparse", bams[1:]),
                               ("both BAMs (2 tracks)", bams)):
            times = {"upstream": [], "helixtune": []}
            for _ in range(args.repeats):
                for side in ("upstream", "helixtune"):
                    h5 = tmp / f"{side}.h5"
                    shutil.copyfile(genome, h5)
                    if side == "upstream":
                        command = [str(peer_python), str(script), "-s", "Spombe", "-d", str(h5), "-b",
                                   *map(str, bam_set), "--dataset-prefix", "rnaseq", "--second-read-is-sense-strand",
                                   "--threads", str(args.threads)]
                    else:
                        command = ours + ["-d", str(h5), "-b", *map(str, bam_set), "--dataset-prefix", "rnaseq",
                                          "--second-read-is-sense-strand", "--threads", str(args.threads)]
                    times[side].append(timed(command, tmp))
            upstream_tracks, our_tracks = tracks(tmp / "upstream.h5"), tracks(tmp / "helixtune.h5")
            identical = all(np.array_equal(a, b) for a, b in zip(upstream_tracks, our_tracks))
            up, us = min(times["upstream"]), min(times["helixtune"])
            print(f"{label}: upstream {up:.2f} s, helixtune {us:.2f} s, ratio {up / us:.1f}x faster; "
                  f"tracks identical: {identical}")


if __name__ == "__main__":
    main()
