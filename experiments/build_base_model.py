"""Build the fungal base model: `helixtune train` on four real fungal genomes, for hours, resumable across machines.

    python experiments/build_base_model.py data  --data SHARED_DATA            # gff2h5 + split, ~1 minute
    python experiments/build_base_model.py train --arch small [--hours 2]      # continue (or start) the run
    python experiments/build_base_model.py train --arch small --anneal 1e-4   # then: on at a lower learning rate
    python experiments/build_base_model.py curves --arch small                 # per-genome validation curves
    python experiments/build_base_model.py pombe --arch small --data SHARED_DATA # score on S. pombe (held out)
    python experiments/build_base_model.py calibrate --arch small --data SHARED_DATA # the genome decoder for it
    python experiments/build_base_model.py ship --arch small --data SHARED_DATA  # bundle it (+ provenance)

Data: S. cerevisiae (Ensembl GTF), S. paradoxus (GFF3 without CDS phases), Taphrina deformans and
Pneumocystis jirovecii (INSDC contigs, partial genes masked); none of them annotates UTRs, so training reads
their intergenic labels as "intergenic or UTR" (docs/training.md). S. pombe, the evaluation target, is never
used. Each genome is split by whole sequences (20 % to validation).

The run's state lives in `experiments/base_model/<arch>/` and is small enough to commit: `last.ckpt` (weights,
optimizer, RNG, sampler position; overwritten in place), `metrics.csv`, `learning_curves.png`, `best.safetensors`
and `progress.json` (wall and CPU seconds of every invocation). `train` on another machine continues exactly
where the last one stopped: rebuild the data with `data` (deterministic), then run `train` again. Every
invocation trains with one thread per run by default, so its seconds are CPU-seconds and two architectures
can train side by side on two cores at equal compute.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
STATE = REPOSITORY / "experiments" / "base_model"
DEFAULT_WORK = REPOSITORY / "scratch" / "fungal_base"

GENOMES = {  # name -> (folder, annotation, fasta)
    "Scerevisiae": ("fungi/saccharomyces_cerevisiae", "Saccharomyces_cerevisiae.R64-1-1.96.gtf.gz",
                    "Saccharomyces_cerevisiae.R64-1-1.dna.toplevel.fa.gz"),
    "Sparadoxus": ("fungi/saccharomyces_paradoxus_CBS432", "CBS432.all_feature.gff.gz", "CBS432.genome.fa.gz"),
    "Tdeformans": ("fungi/taphrina_deformans_PYCC5710_partial", "Taphrina_deformans_CAHR02_70contigs.gff3.gz",
                   "Taphrina_deformans_CAHR02_70contigs.fa.gz"),
    "Pjirovecii": ("fungi/pneumocystis_jirovecii_SE8_partial", "Pneumocystis_jirovecii_CAKM01_53contigs.gff3.gz",
                   "Pneumocystis_jirovecii_CAKM01_53contigs.fa.gz"),
}
SPLIT = ["--val-fraction", "0.2", "--region-bp", "500000", "--seed", "0"]

# The genome decoder's bundled parameters (src/helixtune/data/decode_params/fungi.json, docs/decode.md) are
# calibrated for the bundled model: statistics from the training sequences of three genomes (S. cerevisiae is
# left out beside its sister S. paradoxus, so that one yeast does not count twice), weights chosen by the
# decoded genes of the model's predictions of every genome's validation sequences
STATISTICS_GENOMES = ("Tdeformans", "Pjirovecii", "Sparadoxus")
CALIBRATION_GRID = ["emission_weight=0.03,0.05,0.1", "splice_weight=2", "coding_weight=2"]
BUNDLED_MODELS_DIR = REPOSITORY / "src" / "helixtune" / "data" / "models"
BUNDLED_DECODE_PARAMS = REPOSITORY / "src" / "helixtune" / "data" / "decode_params" / "fungi.json"

# candidate networks, compared at equal CPU time on the validation curves (docs/models.md)
ARCHITECTURES = {
    # the architecture of base_small: 514k parameters, 2.1 MB
    "small": {"cnn-layers": 3, "filter-depth": 64, "kernel-size": 9, "lstm-layers": 2, "units": 64, "pool-size": 9},
    # wider: 1.23M parameters, 4.9 MB
    "mid": {"cnn-layers": 4, "filter-depth": 96, "kernel-size": 9, "lstm-layers": 2, "units": 96, "pool-size": 9},
    # upstream's released size (2.1M parameters, 8.4 MB): for a lent GPU
    "released": {"cnn-layers": 4, "filter-depth": 96, "kernel-size": 10, "lstm-layers": 3, "units": 128,
                 "pool-size": 9},
}
# validation every ~15 CPU-minutes and a full checkpoint every ~5 (at one thread, bfloat16 autocast)
METRICS = ("genic_f1", "cds_intron_f1", "cds_f1", "intron_f1", "phase_f1")  # of the per-genome curves
CADENCE = {"small": (250, 80), "mid": (150, 50), "released": (100, 30)}
ANNEAL_GENE_CHECK_BP = 20_000_000  # more than all validation sequences: every genome's genes count
TRAIN_OPTIONS = ["--batch-size", "8", "--val-test-batch-size", "16", "--epochs", "200", "--patience", "12",
                 "--class-weights", "[0.7, 1.6, 1.2, 1.2]", "--transition-weights", "[1, 12, 3, 1, 12, 3]",
                 "--learning-rate", "0.001", "--seed", "0", "--save-every-check"]


def md5(path: Path) -> str:
    from helixtune.model.model_file import file_md5

    return file_md5(path)


def helixtune(*args, log: Path | None = None, env: dict | None = None) -> None:
    command = [sys.executable, "-m", "helixtune", *map(str, args)]
    print("$ helixtune " + shlex.join(str(a) for a in args), flush=True)
    with open(log, "a") if log else open(os.devnull, "w") as handle:
        subprocess.run(command, check=True, stdout=handle if log else None, env=env)


def build_data(data: Path, work: Path) -> dict:
    """Labelled h5 of each genome, split by whole sequences; links in work/train_dir. Idempotent."""
    work.mkdir(parents=True, exist_ok=True)
    train_dir = work / "train_dir"
    train_dir.mkdir(exist_ok=True)
    files = {}
    for name, (folder, annotation, fasta) in GENOMES.items():
        labels = work / f"{name}.h5"
        if not labels.exists():
            helixtune("gff2h5", "--gff3", data / folder / annotation, "--fasta", data / folder / fasta,
                      "--species", name, "--h5-output-path", labels, log=work / "build.log")
        prefix = work / f"{name}_"
        if not Path(f"{prefix}validation_data.h5").exists():
            helixtune("split", "-i", labels, "-o", prefix, *SPLIT, log=work / "build.log")
        for kind in ("training", "validation"):
            link = train_dir / f"{kind}_data_{name}.h5"
            if not link.exists():
                link.symlink_to(Path(f"{prefix}{kind}_data.h5").resolve())
        files[name] = {"annotation": f"{folder}/{annotation}", "fasta": f"{folder}/{fasta}",
                       "annotation_md5": md5(data / folder / annotation), "fasta_md5": md5(data / folder / fasta)}
    return files


def _in_repository(path: Path) -> str:
    """`path` relative to the repository (train runs there), so that logs and model files name no machine."""
    return os.path.relpath(Path(path).resolve(), REPOSITORY)


@dataclass
class Stage:
    """An annealing stage: the first stage's best model trained on at learning rate `anneal`, in its own run in
    `folder`/; variants side by side in folders of their own, with other `class_weights`, a `utr_reach`,
    training files drawn alike (`balance`: each genome a quarter of every epoch) or checks chosen by the mean of
    the genomes' gene F1 (`per_genome`) instead of the F1 of all validation genes (three quarters yeast).
    `start`: another model of the first stage to start from (e.g. the bundled check), instead of its best."""
    anneal: float
    folder: str = "anneal"
    class_weights: str | None = None
    utr_reach: int | None = None
    balance: bool = False
    per_genome: bool = False
    start: Path | None = None

    def describe(self) -> str:
        return ", ".join([f"{self.folder}: learning rate {self.anneal:g}"]
                         + ([f"from {_in_repository(self.start)}"] if self.start is not None else [])
                         + ([f"class weights {self.class_weights}"] if self.class_weights else [])
                         + ([f"UTR reach {self.utr_reach} bp"] if self.utr_reach is not None else [])
                         + (["genomes balanced"] if self.balance else [])
                         + (["checks by mean per-genome gene F1"] if self.per_genome else []))


def train_command(arch: str, work: Path, cadence: tuple[int, int] | None = None,
                  stage: Stage | None = None) -> list[str]:
    """The run's `helixtune train` command: the first stage, or an annealing `stage` once the first stopped
    improving at its learning rate."""
    state = STATE / arch
    check_every, checkpoint_every = cadence or CADENCE[arch]
    if stage is None:
        where = ["--save-model-path", _in_repository(state / "best.safetensors"),
                 "--run-dir", _in_repository(state / "run"),
                 *(x for key, value in ARCHITECTURES[arch].items() for x in (f"--{key}", str(value)))]
        after = []
    else:
        where = ["--save-model-path", _in_repository(state / stage.folder / "best.safetensors"),
                 "--run-dir", _in_repository(state / stage.folder / "run"),
                 "--load-model-path", _in_repository(stage.start or state / "best.safetensors"),
                 "--fine-tune-mode", "whole"]
        # the last --learning-rate wins. Base-wise genic F1 flattened in the first stage while intron F1 and
        # the decoded genes still moved, so this stage keeps the check whose decoded genes (annotate's decoder,
        # on every validation sequence) are best
        # --utr-reach 500 (UTR only near genes) was tried here: S. pombe's base-wise genic F1 rose from 0.82 to
        # 0.91, but introns and decoded genes fell (docs/models.md), so it is a variant, not the recipe
        after = ["--learning-rate", str(stage.anneal), "--select-by", "gene-f1", "--gene-check-decoder", "genome",
                 "--gene-check-bp", str(ANNEAL_GENE_CHECK_BP),
                 *(["--gene-check-average", "per-file"] if stage.per_genome else []),
                 *(["--balance-training-files"] if stage.balance else []),
                 *(["--utr-reach", str(stage.utr_reach)] if stage.utr_reach is not None else []),
                 *(["--class-weights", stage.class_weights] if stage.class_weights else [])]
    return ["train", "--data-dir", _in_repository(work / "train_dir"), *where,
            "--check-every-nth-batch", str(check_every), "--checkpoint-every-nth-batch", str(checkpoint_every),
            *TRAIN_OPTIONS, *after]


def train(arch: str, work: Path, hours: float | None, threads: int, accelerator: str,
          cadence: tuple[int, int] | None = None, stage: Stage | None = None) -> int:
    """Continue the run (or its annealing stage) for at most `hours` of wall time; a stop loses at most one
    checkpoint interval."""
    state = STATE / arch
    folder = state / stage.folder if stage is not None else state
    folder.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    command = [sys.executable, "-m", "helixtune",
               *train_command(arch, work, cadence, stage),
               "--accelerator", accelerator]
    print("$ " + shlex.join(command), flush=True)
    started, cpu_before = time.time(), os.times()
    with open(folder / "train.log", "a") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPOSITORY)
        try:
            process.wait(timeout=None if hours is None else hours * 3600)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGINT)  # the run keeps its last checkpoint
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    cpu_after = os.times()
    cpu = (cpu_after.children_user - cpu_before.children_user) + (cpu_after.children_system -
                                                                   cpu_before.children_system)
    progress_path = state / "progress.json"
    progress = json.loads(progress_path.read_text()) if progress_path.exists() else {"invocations": []}
    progress["invocations"].append({"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
                                    "wall_s": round(time.time() - started, 1), "cpu_s": round(cpu, 1),
                                    "threads": threads, "accelerator": accelerator,
                                    "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                                    "exit_code": process.returncode,
                                    **({"stage": stage.describe()} if stage is not None else {})})
    progress["cpu_hours"] = round(sum(i["cpu_s"] for i in progress["invocations"]) / 3600, 3)
    progress_path.write_text(json.dumps(progress, indent=1) + "\n")
    print(f"{arch}: {progress['cpu_hours']} CPU-hours in total", flush=True)
    return process.returncode


def per_genome_curves(arch: str, work: Path) -> Path:
    """Base-wise validation metrics of every saved check on each genome's validation file, as CSV and a plot.

    Rows already in the CSV (from checks of earlier sessions, whose model files are gone) are kept.
    """
    import csv

    from helixtune.model import model_file

    state = STATE / arch
    out = state / "per_genome_validation.csv"
    rows = []
    if out.exists():
        with open(out) as handle:
            rows = [{**r, "check": int(r["check"]), "cpu_hours": float(r["cpu_hours"]),
                     **{k: float(r[k]) for k in METRICS}} for r in csv.DictReader(handle)]
    done = {(r["check"], r["genome"]) for r in rows}
    cpu = {}
    with open(state / "run" / "metrics.csv") as handle:
        for row in csv.DictReader(handle):
            cpu[int(row["check"])] = float(row.get("cpu_s") or row["time_s"])
    cache = work / "check_predictions" / arch
    cache.mkdir(parents=True, exist_ok=True)
    for model in sorted((state / "run" / "checks").glob("model_*.safetensors")):
        check = int(model_file.load_model(model)[1]["provenance"]["training"]["check"])
        for name in GENOMES:
            if (check, name) in done:
                continue
            rows.append({"check": check, "cpu_hours": round(cpu.get(check, 0) / 3600, 3), "genome": name,
                         **validation_metrics(model, name, work, cache)})
    rows.sort(key=lambda r: (r["check"], r["genome"]))
    with open(out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["check", "cpu_hours", "genome", *METRICS])
        writer.writeheader()
        writer.writerows(rows)
    _plot_per_genome(rows, state / "per_genome_validation.png", arch)
    return out


def validation_metrics(model: Path, genome: str, work: Path, cache: Path) -> dict:
    """Base-wise validation metrics (`METRICS`) of `model` on one genome's validation sequences."""
    from helixtune.evaluate.compare import evaluate

    validation = work / f"{genome}_validation_data.h5"
    prediction = cache / f"{model.stem}.{md5(model)[:8]}.{genome}.h5"
    if not prediction.exists():
        helixtune("predict", "-l", model, "-t", validation, "-p", prediction, log=work / "build.log")
    summary = evaluate(validation, prediction)["basewise"]["summary"]
    return {k: summary[k] for k in METRICS}


def _plot_per_genome(rows: list[dict], path: Path, arch: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # sub-genic (CDS + intron) rather than genic F1: these genomes annotate no UTRs, and a UTR the network
    # predicts beside a gene would count as a false genic base here (training's own checks merge the two)
    metrics = ("cds_intron_f1", "phase_f1", "intron_f1")
    fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.2), sharex=True)
    for axis, metric in zip(axes, metrics):
        for name in GENOMES:
            points = [(r["cpu_hours"], r[metric]) for r in rows if r["genome"] == name]
            axis.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=name)
        axis.set_title(f"{arch}: validation {metric.replace('cds_intron', 'CDS+intron').replace('_', ' ')}")
        axis.set_xlabel("CPU-hours")
        axis.set_ylim(0, 1)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def score_on_pombe(model: Path, data: Path, work: Path, threads: int) -> dict:
    """The base model on S. pombe, which no training or validation data comes from.

    Held-out pieces p1, p5, p8 of the fine-tuning study (network base-wise genic and phase F1; decoded
    gene-level F1), and the whole chromosome I with `helixtune annotate` defaults (gene count, gene F1,
    CDS-exon F1 against the reference GFF3).
    """
    sys.path.insert(0, str(REPOSITORY / "experiments"))
    import fine_tuning_study as study

    from helixtune.evaluate.compare import evaluate
    from helixtune.genome.fasta import iter_fasta, write_fasta

    pombe_work = work.parent / "pombe_eval"
    study.prepare(data, pombe_work)
    prep = pombe_work / "pieces"
    out = pombe_work / f"{model.stem}.{md5(model)[:8]}"
    out.mkdir(parents=True, exist_ok=True)
    start = time.time()
    predictions, gffs, _ = study.predict_and_decode(model, prep / "test.h5", out, threads)
    result = {"held_out_pieces": study.score(prep, predictions, gffs["helixerpost"], gffs["genome"]),
              "pieces_seconds": round(time.time() - start),
              "pieces_reference_introns": intron_visibility(prep / "test.gff3", gffs["genome"], predictions,
                                                            prep / "test.h5")}
    chromosome = pombe_work / "chrI.fa"
    if not chromosome.exists():
        sequence = dict(iter_fasta(data / "schizosaccharomyces_pombe" / "SP2.chr.fa.gz"))[study.CHROMOSOME]
        write_fasta(chromosome, [(study.CHROMOSOME, sequence)])
    annotation = out / "chrI.gff3"
    start = time.time()
    if not annotation.exists():
        helixtune("annotate", "--fasta", chromosome, "--load-model-path", model, "--gff-output-path", annotation)
    features = evaluate(data / "schizosaccharomyces_pombe" / "SP2.chrI.derived.gff3", annotation, fasta=chromosome)
    result["chromosome_I"] = {"genes": features["sanity"]["prediction"]["genes"],
                              "reference_genes": features["sanity"]["reference"]["genes"],
                              **{f"{level}_f1": features["features"][level]["f1"]
                                 for level in ("gene", "cds_exon", "intron", "cds_base")},
                              "gene_f1_by_introns": {k: v["f1"] for k, v in features["genes_by_introns"].items()},
                              "annotate_seconds": round(time.time() - start)}
    return result


def intron_visibility(reference: Path, decoded: Path, predictions: Path, genome_h5: Path) -> dict:
    """Whether the network sees the reference introns: the mean predicted class probabilities over each
    reference intron, averaged over the introns the decoded genes have ("found") and those they miss."""
    import numpy as np

    from helixtune import h5layout
    from helixtune.annotation.coding_transcripts import read_gene_models
    from helixtune.evaluate.tracks import window_from_h5

    def introns(path):
        return {(t.seqid, t.strand, a, b) for t in read_gene_models(path).transcripts for a, b in t.introns}

    found_introns = introns(decoded)
    means: dict[str, list] = {"found": [], "missed": []}
    with h5layout.open_h5(genome_h5) as coordinates:
        for seqid, strand, start, end in sorted(introns(reference)):
            window = window_from_h5(predictions, h5layout.PREDICTIONS.path, seqid, strand, start, end,
                                    coordinates=coordinates)
            if window is not None and not np.isnan(window).all():
                key = "found" if (seqid, strand, start, end) in found_introns else "missed"
                means[key].append(np.nanmean(window, axis=0))
    return {key: {"introns": len(values),
                  **dict(zip(("intergenic", "utr", "cds", "intron"),
                             (round(float(x), 3) for x in np.mean(values, axis=0)))),
                  "share_p_intron_below_0.2": round(float(np.mean([v[3] < 0.2 for v in values])), 3)}
            for key, values in means.items() if values}


def _write_sequences(annotation: Path, fasta: Path, seqids: set[str], keep: bool, gff_out: Path,
                     fasta_out: Path) -> None:
    """The annotation (as GFF3) and genome of the sequences in `seqids` (`keep`) or of all others (not `keep`)."""
    from urllib.parse import quote

    from helixtune.annotation.gff3 import iter_annotation
    from helixtune.genome.fasta import iter_fasta, write_fasta

    def wanted(seqid):
        return (seqid in seqids) == keep

    write_fasta(fasta_out, ((name, sequence) for name, sequence in iter_fasta(fasta) if wanted(name)), width=80)
    partial = gff_out.with_name(gff_out.name + ".partial")
    with open(partial, "w") as handle:
        handle.writelines(_gff3_lines(iter_annotation(annotation), wanted, quote))
    partial.replace(gff_out)


def _gff3_lines(records, wanted, quote):
    yield "##gff-version 3\n"
    for r in records:
        if wanted(r.seqid):
            attributes = ";".join(f"{k}={','.join(quote(v, safe=':._- ') for v in values)}"
                                  for k, values in r.attributes.items())
            yield "\t".join([r.seqid, r.source, r.type, str(r.start), str(r.end),
                             "." if r.score is None else str(r.score), r.strand,
                             "." if r.phase is None else str(r.phase), attributes]) + "\n"


def calibrate(model: Path, data: Path, work: Path, threads: int, grid: list[str]) -> Path:
    """Genome-decoder parameters for `model`: `decode-params fit` on the statistics genomes' training sequences,
    its weights chosen on the model's predictions (`predict --overlap`, as annotate makes them) of every
    genome's validation sequences. Written beside the model, as `<model>.decode_params.json`."""
    import h5py

    build_data(data, work)
    folder = work / "calibration"
    folder.mkdir(exist_ok=True)
    statistics, predictions, genome_h5, references, genomes = [], [], [], [], []
    for name, (sub, annotation, fasta) in GENOMES.items():
        validation = work / f"{name}_validation_data.h5"
        with h5py.File(validation, "r") as h5:
            seqids = {s.decode() for s in h5["data/seqids"][:]}
        for part, keep in (("validation", True), ("training", False)):
            if part == "training" and name not in STATISTICS_GENOMES:
                continue
            gff, fa = folder / f"{name}.{part}.gff3", folder / f"{name}.{part}.fa"
            if not (gff.exists() and fa.exists()):
                _write_sequences(data / sub / annotation, data / sub / fasta, seqids, keep, gff, fa)
            if keep:
                references.append(gff)
                genomes.append(fa)
            else:
                statistics.append((gff, fa))
        prediction = folder / f"{name}.{model.stem}.{md5(model)[:8]}.predictions.h5"
        if not prediction.exists():
            helixtune("predict", "-l", model, "-t", validation, "-p", prediction, "--overlap", "--threads", threads,
                      log=work / "build.log")
        predictions.append(prediction)
        genome_h5.append(validation)
    out = model.with_name(f"{model.stem}.decode_params.json")
    helixtune("decode-params", "fit", "--gff3", *(g for g, _ in statistics), "--fasta", *(f for _, f in statistics),
              "--start-from", BUNDLED_DECODE_PARAMS, "--predictions", *predictions, "--genome-h5", *genome_h5,
              "--calibration-gff3", *references, "--calibration-fasta", *genomes, "--grid", *grid,
              "--threads", threads, "-o", out)
    return out


def _number(text):
    """A metrics.csv cell: a float, None when empty, the text itself otherwise (e.g. select_by)."""
    if text in ("", None):
        return None
    try:
        return float(text)
    except ValueError:
        return text


def without_machine_paths(source: Path, target: Path) -> None:
    """Write `source` to `target` with the repository's location cut from its metadata (the weights unchanged)."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    with safe_open(str(source), "pt") as handle:
        metadata = handle.metadata() or {}
    prefix = str(REPOSITORY) + "/"
    if not any(prefix in value for value in metadata.values()):  # byte for byte: its md5 stays that of the source
        shutil.copyfile(source, target)
        return
    save_file(load_file(str(source)), str(target), {k: v.replace(prefix, "") for k, v in metadata.items()})


def _start_model(model: Path) -> Path:
    """The file an annealing stage's `model` was tuned from: found by the md5 the model records of it (its
    `base_model`), where the stage's config names it or, once replaced there (a bundled model superseded by
    this one), among the bundled models and the first stage's files."""
    import tomllib

    from helixtune.model.model_file import read_metadata

    wanted = read_metadata(model)["base_model"]["md5"]
    named = REPOSITORY / tomllib.loads((model.parent / "run" / "config.toml").read_text())["load_model_path"]
    candidates = [named, *sorted(BUNDLED_MODELS_DIR.glob("*.safetensors")),
                  *sorted(model.parent.parent.glob("*.safetensors"))]
    found = next((path for path in candidates if path.is_file() and md5(path) == wanted), None)
    if found is None:
        raise SystemExit(f"{model}: the model it was tuned from (md5 {wanted}) is not in the repository")
    return found


def _training_cpu_s(model: Path, row: dict) -> float:
    """CPU seconds of training behind `model`: its check's, plus the first stage's up to the model an annealing
    stage started from."""
    cpu = float(row["cpu_s"])
    if model.parent.name.startswith("anneal"):
        import csv

        from helixtune.model import model_file

        start = model_file.read_metadata(_start_model(model))
        check = int(start["provenance"]["training"]["check"])
        with open(model.parent.parent / "run" / "metrics.csv") as handle:
            cpu += next(float(r["cpu_s"]) for r in csv.DictReader(handle) if int(r["check"]) == check)
    return cpu


def _annealing_stage(arch: str, model: Path, work: Path) -> dict:
    """Provenance of an annealing stage's model: the stage and its command (read back from its run's config)."""
    if not model.parent.name.startswith("anneal"):
        return {}
    import tomllib

    from helixtune.model.model_file import read_metadata

    config = tomllib.loads((model.parent / "run" / "config.toml").read_text())
    weights = config.get("class_weights")
    start = _start_model(model)
    # a stage's own class weights only where they differ from the first stage's (TRAIN_OPTIONS)
    first_weights = json.loads(TRAIN_OPTIONS[TRAIN_OPTIONS.index("--class-weights") + 1])
    stage = Stage(config["learning_rate"], model.parent.name,
                  json.dumps(weights) if weights and weights != first_weights else None,
                  config.get("utr_reach"), bool(config.get("balance_training_files")),
                  config.get("gene_check_average") == "per-file",
                  None if start == STATE / arch / "best.safetensors" else start)
    command = train_command(arch, work, stage=stage)
    return {"annealing_stage": {"folder": model.parent.name, "command": "helixtune " + shlex.join(command),
                                "learning_rate": config["learning_rate"], "utr_reach": config.get("utr_reach"),
                                "class_weights": weights, "genomes_balanced": stage.balance,
                                "checks_by_mean_per_genome_gene_f1": stage.per_genome,
                                "started_from": "the first stage's best model" if stage.start is None
                                else {"model": _in_repository(start), "md5": md5(start),
                                      "check": read_metadata(start)["provenance"]["training"]["check"],
                                      "what": "a model of the first stage"}}}


def ship(arch: str, model: Path, work: Path, data: Path, name: str, decode_params: Path | None = None) -> Path:
    """Copy `model` into the package as `<name>.safetensors` with its provenance `<name>.json` (and
    `decode_params`, calibrated for it, as the genome decoder's bundled parameters)."""
    import csv

    import torch

    from helixtune import __version__

    state = STATE / arch
    files = build_data(data, work)
    with open(model.parent / "run" / "metrics.csv") as handle:  # the first stage's or the annealing's
        checks = [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(handle)]
    from helixtune.model import model_file

    _, metadata = model_file.load_model(model)
    chosen = int(metadata["provenance"]["training"]["check"])
    row = next(c for c in checks if int(c["check"]) == chosen)
    cache = work / "check_predictions" / arch
    cache.mkdir(parents=True, exist_ok=True)
    per_genome = {name: validation_metrics(model, name, work, cache) for name in GENOMES}
    pombe_path = model.parent / f"pombe.{model.stem}.json"
    progress = json.loads((state / "progress.json").read_text())
    target = BUNDLED_MODELS_DIR / f"{name}.safetensors"
    without_machine_paths(model, target)
    network = ARCHITECTURES[arch]
    provenance = {
        "model": target.name,
        "md5": md5(target),
        "description": f"fungal Helixer-style network ({network['cnn-layers']} Conv1D({network['filter-depth']}, "
                       f"k={network['kernel-size']}), {network['lstm-layers']} BiLSTM({network['units']}), pool "
                       f"{network['pool-size']}, genic + phase heads) trained from scratch by helixtune on four "
                       "fungal genomes (S. pombe, the evaluation target, never seen)",
        "species": files,
        "data": "each genome: helixtune gff2h5 (GTF or GFF3; genomes without UTRs read as 'intergenic or UTR'; "
                "partial genes with an incomplete CDS masked), then helixtune split " + " ".join(SPLIT)
                + " (whole sequences to validation)",
        "command": "helixtune " + shlex.join(train_command(arch, work)),
        **_annealing_stage(arch, model, work),
        "build": "python experiments/build_base_model.py data|train|curves|pombe|ship --arch " + arch,
        "cpu_hours": round(_training_cpu_s(model, row) / 3600, 2) if row.get("cpu_s") else progress.get("cpu_hours"),
        "invocations": progress["invocations"],
        "check": {k: row[k] for k in ("check", "epoch", "step", "time_s", "cpu_s", "genic_f1", "phase_f1",
                                      "intron_f1", "exon_f1")},
        "validation_metrics_per_genome": per_genome,
        "schizosaccharomyces_pombe": json.loads(pombe_path.read_text()) if pombe_path.exists() else None,
        "machine": f"{platform.machine()} CPU, {os.cpu_count()} cores, torch {torch.__version__}",
        "helixtune_version": __version__,
    }
    if decode_params is not None:
        from helixtune.decode.params import DecodeParams

        DecodeParams.load(decode_params)  # a bad file stops here, before it replaces the bundled one
        partial = BUNDLED_DECODE_PARAMS.with_name(BUNDLED_DECODE_PARAMS.name + ".partial")
        partial.write_text(Path(decode_params).read_text())
        partial.replace(BUNDLED_DECODE_PARAMS)
        provenance["decode_params"] = {"file": BUNDLED_DECODE_PARAMS.name, "md5": md5(BUNDLED_DECODE_PARAMS),
                                       "build": "python experiments/build_base_model.py calibrate --arch " + arch}
    json_path = target.with_suffix(".json")
    json_path.write_text(json.dumps(provenance, indent=1) + "\n")
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=("data", "train", "curves", "pombe", "calibrate", "ship"))
    parser.add_argument("--data", type=Path, help="the shared data folder (with fungi/)")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help="where the h5 files go (not committed)")
    parser.add_argument("--arch", choices=tuple(ARCHITECTURES), default="small")
    parser.add_argument("--hours", type=float, help="train: stop after this many hours of wall time")
    parser.add_argument("--threads", type=int, default=1, help="train: threads per run (default 1)")
    parser.add_argument("--accelerator", default="cpu", help="train: cpu or gpu")
    parser.add_argument("--cadence", help="train: CHECK,CHECKPOINT batches between validation checks and "
                                          "checkpoints (default: the architecture's, about 15 and 5 CPU-minutes)")
    parser.add_argument("--anneal", type=float, metavar="LR",
                        help="train: the second stage, after the run stopped improving: its best model trained on "
                             "at this lower learning rate (experiments/base_model/<arch>/<stage>/)")
    parser.add_argument("--stage", default="anneal", help="train --anneal: the stage's folder (default anneal)")
    parser.add_argument("--class-weights", help="train --anneal: class weights of the stage, e.g. "
                                                "'[0.7, 1.6, 1.2, 2.4]' (default: the first stage's)")
    parser.add_argument("--utr-reach", type=int, metavar="BP",
                        help="train --anneal: train --utr-reach of the stage (default: none, as the first stage)")
    parser.add_argument("--balance-genomes", action="store_true",
                        help="train --anneal: every genome a quarter of each epoch (train --balance-training-files)")
    parser.add_argument("--start", type=Path, metavar="MODEL",
                        help="train --anneal: start from this model of the first stage (default: its best)")
    parser.add_argument("--per-genome-checks", action="store_true",
                        help="train --anneal: keep the check with the best mean of the genomes' gene F1 "
                             "(train --gene-check-average per-file)")
    parser.add_argument("--model", type=Path, help="pombe, ship: the model (default: the run's best model)")
    parser.add_argument("--name", default="fungi_base", help="ship: the bundled model's name")
    parser.add_argument("--grid", nargs="+", default=CALIBRATION_GRID, metavar="NAME=V1,V2",
                        help="calibrate: the decoder weights tried (decode-params fit --grid)")
    parser.add_argument("--decode-params", type=Path,
                        help="ship: genome-decoder parameters calibrated for the model (from calibrate), bundled "
                             "as the decoder's defaults")
    args = parser.parse_args()
    if args.step == "data":
        if args.data is None:
            parser.error("data needs --data")
        files = build_data(args.data, args.work)
        (args.work / "files.json").write_text(json.dumps(files, indent=1) + "\n")
        return 0
    if args.step == "train":
        cadence = tuple(int(x) for x in args.cadence.split(",")) if args.cadence else None
        stage = None if args.anneal is None else Stage(args.anneal, args.stage, args.class_weights, args.utr_reach,
                                                       args.balance_genomes, args.per_genome_checks, args.start)
        return train(args.arch, args.work, args.hours, args.threads, args.accelerator, cadence, stage)
    if args.step == "curves":
        print(per_genome_curves(args.arch, args.work))
        return 0
    if args.step == "pombe":
        if args.data is None:
            parser.error("pombe needs --data")
        model = args.model or STATE / args.arch / "best.safetensors"
        result = {"model": str(model.name), "md5": md5(model), **score_on_pombe(model, args.data, args.work, 2)}
        path = model.parent / f"pombe.{model.stem}.json"
        path.write_text(json.dumps(result, indent=1) + "\n")
        print(json.dumps(result, indent=1))
        return 0
    if args.step == "calibrate":
        if args.data is None:
            parser.error("calibrate needs --data")
        model = args.model or STATE / args.arch / "best.safetensors"
        print(calibrate(model, args.data, args.work, args.threads, args.grid))
        return 0
    if args.data is None:
        parser.error("ship needs --data")
    model = args.model or STATE / args.arch / "best.safetensors"
    print(ship(args.arch, model, args.work, args.data, args.name, args.decode_params))
    return 0


if __name__ == "__main__":
    sys.exit(main())
