"""Build the bundled base model: a small network trained with `helixtune train` on four non-target genomes.

    python experiments/build_base_small.py --data ../shared/data --work work/base_model \
        [--epochs 120] [--output src/helixtune/data/models/base_small.safetensors]

Steps (each skipped when its output exists, so an interrupted build continues):
1. `helixtune gff2h5` for A. thaliana, C. elegans, D. melanogaster (Korf lab 1 % sets) and Micromonas
   pusilla (upstream Helixer's test data);
2. `helixtune split` of each into training/validation by whole sequences (N90 rule);
3. `helixtune train` on all four training files (up to 120 epochs, patience 15), model selection by
   validation genic F1 (about 26 minutes on a 2-core CPU);
4. `helixtune evaluate`-style base-wise metrics of the best model on each species' validation file;
5. the model and `<model>.json` (provenance: species, data files with md5, command, metrics, timings).

S. pombe, the target of the fine-tuning study, is deliberately not used.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]

SPECIES = {  # name -> (folder, fasta, gff3, licence note from the data README)
    "Athaliana": ("arabidopsis_thaliana", "athaliana_1pct.fa", "athaliana_1pct.gff3",
                  "Korf lab 1% set, MIT; data TAIR10"),
    "Celegans": ("caenorhabditis_elegans", "celegans_1pct.fa", "celegans_1pct.gff3",
                 "Korf lab 1% set, MIT; data WormBase WS282"),
    "Dmelanogaster": ("drosophila_melanogaster", "dmel_1pct.korflab.fa", "dmel_1pct.korflab.gff3",
                      "Korf lab 1% set, MIT"),
    "Mpusilla": ("micromonas_pusilla", "mini_test_data.fa", "mini_test_data.gff",
                 "Helixer test data, GPL-3.0; NCBI RefSeq GCF_000151265.4"),
}

# the network: between upstream's default small size (1 Conv1D(32, k=26), 1 BiLSTM(32)) and its released
# size (4 Conv1D(96, k=10), 3 BiLSTM(128)); about 20 s per epoch on a 2-core CPU
NETWORK = {"cnn-layers": 3, "filter-depth": 64, "kernel-size": 9, "lstm-layers": 2, "units": 64, "pool-size": 9}
# the training options (upstream's flag names)
TRAIN_OPTIONS = [*(x for key, value in NETWORK.items() for x in (f"--{key}", str(value))),
                 "--val-test-batch-size", "16",
                 "--class-weights", "[0.7, 1.6, 1.2, 1.2]", "--transition-weights", "[1, 12, 3, 1, 12, 3]",
                 "--learning-rate", "0.002", "--patience", "15", "--seed", "0"]


def md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def helixtune(*args, log: Path | None = None) -> float:
    """Run one helixtune command (as a user would); returns its wall time in seconds."""
    command = [sys.executable, "-m", "helixtune", *map(str, args)]
    print("$ helixtune " + " ".join(shlex.quote(str(a)) for a in args), flush=True)
    start = time.time()
    with open(log, "a") if log else open(os.devnull, "w") as handle:
        subprocess.run(command, check=True, stdout=handle if log else None)
    return time.time() - start


def build_data(data: Path, work: Path, subsequence_length: int) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    train_dir = work / "train_dir"
    train_dir.mkdir(exist_ok=True)
    files = {}
    for name, (folder, fasta, gff3, licence) in SPECIES.items():
        labels = work / f"{name}.h5"
        if not labels.exists():
            helixtune("gff2h5", "--gff3", data / folder / gff3, "--fasta", data / folder / fasta,
                      "--species", name, "--h5-output-path", labels, "--subsequence-length", subsequence_length,
                      log=work / "build.log")
        prefix = work / f"{name}_"
        if not Path(f"{prefix}validation_data.h5").exists():
            helixtune("split", "-i", labels, "-o", prefix, "--val-fraction", "0.2", "--region-bp", "200000",
                      log=work / "build.log")
        for kind in ("training", "validation"):
            link = train_dir / f"{kind}_data_{name}.h5"
            if not link.exists():
                link.symlink_to(Path(f"{prefix}{kind}_data.h5").resolve())
        files[name] = {"fasta": f"{folder}/{fasta}", "gff3": f"{folder}/{gff3}", "licence": licence,
                       "fasta_md5": md5(data / folder / fasta), "gff3_md5": md5(data / folder / gff3)}
    return files


def train(work: Path, model: Path, epochs: int, check_every: int, batch_size: int) -> tuple[list, float]:
    args = ["train", "--data-dir", work / "train_dir", "--save-model-path", model, "--epochs", str(epochs),
            "--check-every-nth-batch", str(check_every), "--batch-size", str(batch_size), *TRAIN_OPTIONS]
    seconds = helixtune(*args)
    return args, seconds


def validation_metrics(work: Path, model: Path) -> dict:
    """Base-wise metrics of the model on each species' validation file (upstream's masks)."""
    from helixtune.evaluate.compare import evaluate

    out = {}
    for name in SPECIES:
        val = work / f"{name}_validation_data.h5"
        pred = work / f"{name}_validation_predictions.h5"
        if not pred.exists():
            helixtune("predict", "-l", model, "-t", val, "-p", pred, log=work / "build.log")
        summary = evaluate(val, pred)["basewise"]["summary"]
        out[name] = {k: summary[k] for k in ("bases", "genic_f1", "cds_f1", "intron_f1", "utr_f1", "phase_f1")}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, type=Path, help="the shared data folder (organism subfolders)")
    parser.add_argument("--work", type=Path, default=REPOSITORY / "scratch" / "base_model")
    parser.add_argument("--output", type=Path,
                        default=REPOSITORY / "src" / "helixtune" / "data" / "models" / "base_small.safetensors")
    parser.add_argument("--epochs", type=int, default=120)
    parser.add_argument("--subsequence-length", type=int, default=21384)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--check-every-nth-batch", type=int, default=1000, help="default: check at epoch ends")
    args = parser.parse_args()

    started = time.time()
    files = build_data(args.data, args.work, args.subsequence_length)
    model = args.work / "base_small.safetensors"
    # `helixtune train` resumes an interrupted run, extends a finished one when --epochs grows, and
    # returns at once when it is complete; the wall time of every invocation is added up
    before = model.stat().st_mtime if model.exists() else None
    command, seconds = train(args.work, model, args.epochs, args.check_every_nth_batch, args.batch_size)
    timing = args.work / "train_seconds.txt"
    total = float(timing.read_text()) if timing.exists() else 0.0
    if before is None or model.stat().st_mtime != before:
        for old in args.work.glob("*_validation_predictions.h5"):
            old.unlink()  # the model changed: predict again
    total += seconds
    timing.write_text(str(total))
    train_seconds = total
    metrics = validation_metrics(args.work, model)
    run_dir = Path(str(model) + ".run")
    checks = []
    if (run_dir / "metrics.csv").exists():
        import csv

        with open(run_dir / "metrics.csv") as handle:
            checks = [{k: (int(v) if v.isdigit() else float(v)) for k, v in row.items() if v != ""}
                      for row in csv.DictReader(handle)]
    best = max(checks, key=lambda c: c["genic_f1"]) if checks else None
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(model.read_bytes())
    import torch

    from helixtune import __version__

    provenance = {
        "model": args.output.name,
        "md5": md5(args.output),
        "description": f"small Helixer-style network ({NETWORK['cnn-layers']} Conv1D({NETWORK['filter-depth']}, "
                       f"k={NETWORK['kernel-size']}), {NETWORK['lstm-layers']} BiLSTM({NETWORK['units']}), pool "
                       f"{NETWORK['pool-size']}, genic + phase heads) trained from scratch by helixtune on four "
                       "non-target genomes; a stand-in for a released lineage model, not a replacement",
        "species": {name: info for name, info in files.items()},
        "data": f"each genome: helixtune gff2h5 --subsequence-length {args.subsequence_length}, then helixtune split "
                "--val-fraction 0.2 --region-bp 200000 (whole sequences to validation)",
        "command": "helixtune " + shlex.join(str(a) for a in command).replace(str(args.work) + "/", ""),
        "best_check": None if best is None else {
            "check": best["check"], "epoch": best["epoch"], "step": best["step"],
            "validation_genic_f1": best["genic_f1"], "validation_phase_f1": best["phase_f1"]},
        "how_it_ended": None if not checks else (
            f"{len(checks)} checks (one per epoch); "
            + (f"stopped early after {checks[-1]['checks_without_improvement']} checks without improvement"
               if checks[-1]["epoch"] + 1 < args.epochs else f"all {args.epochs} epochs run")
            + f"; the shipped file is the best check (check {best['check']}, epoch {best['epoch']})"),
        "validation_metrics_per_species": metrics,
        "training_checks": checks,
        "train_seconds": round(train_seconds, 1),
        "build_seconds": round(time.time() - started, 1),
        "machine": f"{platform.machine()} CPU, {os.cpu_count()} cores, torch {torch.__version__}",
        "helixtune_version": __version__,
    }
    json_path = args.output.with_suffix(".json")
    json_path.write_text(json.dumps(provenance, indent=1) + "\n")
    print(json.dumps(metrics, indent=1))
    print(f"wrote {args.output} and {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
