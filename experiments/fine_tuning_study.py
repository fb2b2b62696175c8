"""Does tuning help? The fine-tuning study on S. pombe chromosome I, reproducible in one command.

    python experiments/fine_tuning_study.py --data ../shared/data [--work scratch/study] [--rows base whole ...]
        [--base-model src/helixtune/data/models/fungi_base.safetensors] [--threads 1] [--max-time 15m]
        [--patience 4] [--select-by gene-f1] [--seed N] [--learning-rate 1e-3] [--whole-learning-rate 1e-4]
        [--self-train-learning-rate 1e-4] [--rounds 3] [--keep-fraction 0.5]

Design (fixed; see docs/fine-tuning-study.md):
* S. pombe chromosome I (5.58 Mbp) is cut into 10 pieces of about 558 kbp, each cut moved to the nearest
  base outside every annotated feature, so no gene is split. Each piece becomes its own FASTA record
  (`chrI_p0` ... `chrI_p9`), with the reference GFF3 and both real RNA-seq BAMs shifted onto it.
* Held-out test pieces: p1, p5, p8 (1.67 Mbp). They are never used in tuning; every row is scored
  against the reference annotation on these pieces only.
* Tuning pieces: p0 + p3 (training) and p6 (validation) for the rows that use reference labels; the
  self-training rows get p0 + p3 + p6 without any annotation and make their own split.
* Every tuning row has the same budget: `train --max-time` (wall time; the CPU seconds it got are reported),
  early stopping after `--patience` checks without improvement, a check at every epoch end, the checkpoint
  chosen by `--select-by` (decoded gene models of the validation data by default).
* Rows: the bundled base model; whole-network tuning on reference labels; frozen network + new head
  (`head`); frozen + hidden layer + head (`head+hidden`); coverage mode (frozen network + new head over
  the network's features and the RNA-seq coverage of both BAMs); pseudolabel self-training (no reference
  labels; `helixtune self-train`, with HelixerPost- or genome-decoded pseudolabels, and `--rounds 3`);
  pseudolabel + coverage; and the peers on the same pieces: geneML 1.3.1 (its shipped model) and
  AUGUSTUS 3.5 with its S. pombe parameters (their whole-chromosome outputs, shifted onto the pieces).
* Columns: base-wise genic F1 and phase F1 of the network output (argmax of the probabilities, upstream's
  masks); CDS-exon, intron and gene F1 (gffcompare-style, stop codon inside the CDS) of the gene models
  decoded by both decoders (HelixerPost's and the genome decoder); gene counts; CPU and wall seconds of
  training.
* The selection table: the `--selection-row` run keeps every check's model; the checkpoint each
  `--select-by` metric would pick is scored on the test pieces.

Every step skips itself when its output exists, so an interrupted study continues where it stopped; a row
is decoded again when the bundled genome-decoder parameters change. Results: <work>/results/<row>.json
(<row>.seed<N>.json for other seeds), <work>/results/table.md, <work>/results/study.png.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPOSITORY = Path(__file__).resolve().parents[1]
CHROMOSOME = "7000000090838467"
N_PIECES = 10
TEST_PIECES = (1, 5, 8)
TRAIN_PIECES = (0, 3)
VALIDATION_PIECES = (6,)
SELF_TRAIN_PIECES = TRAIN_PIECES + VALIDATION_PIECES
SETS = {"test": TEST_PIECES, "train": TRAIN_PIECES, "validation": VALIDATION_PIECES, "selftrain": SELF_TRAIN_PIECES}
ROUNDS = 3  # self-train --rounds of the self-train-rounds row
BAMS = ("SP2.chr.bam", "SP2.chrI.trinity_Sp_4conditions.hisat2.bam")  # both dUTP/RF stranded
ROWS = ("base", "whole", "head", "head+hidden", "coverage", "self-train", "self-train-genome", "self-train-rounds",
        "self-train+coverage", "geneML", "AUGUSTUS")
ROW_TITLES = {
    "base": "base model (bundled, no tuning)",
    "whole": "whole network tuned, reference labels",
    "head": "frozen + new layer, reference labels",
    "head+hidden": "frozen + two layers, reference labels",
    "coverage": "coverage mode (2 RNA-seq BAMs), reference labels",
    "self-train": "pseudolabel self-training, HelixerPost-decoded pseudolabels (no labels)",
    "self-train-genome": "pseudolabel self-training, self-train's defaults: genome decoder (no labels)",
    "self-train-rounds": f"pseudolabel self-training, {ROUNDS} rounds, genome decoder (no labels)",
    "self-train+coverage": "pseudolabels + coverage, genome decoder (no labels)",
    "geneML": "geneML 1.3.1 (shipped fungal model)",
    "AUGUSTUS": "AUGUSTUS 3.5 (S. pombe parameters)",
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def helixtune(*args, quiet: bool = True) -> float:
    """Run one helixtune command as a user would; returns its wall time."""
    args = [str(a) for a in args]
    log("helixtune " + " ".join(shlex.quote(a) for a in args))
    start = time.time()
    result = subprocess.run([sys.executable, "-m", "helixtune", *args], capture_output=quiet, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"helixtune {args[0]} failed:\n{(result.stderr or '')[-3000:]}")
    return time.time() - start


# ---- the pieces -----------------------------------------------------------------------------------------

def cut_points(length: int, covered: np.ndarray) -> list[int]:
    points = [0]
    for k in range(1, N_PIECES):
        nominal = k * length // N_PIECES
        for delta in range(0, 200_000):
            if nominal + delta < length and not covered[nominal + delta]:
                points.append(nominal + delta)
                break
            if not covered[nominal - delta]:
                points.append(nominal - delta)
                break
    return points + [length]


def shift_gff_lines(lines: list[str], pieces: list, chosen) -> list[str]:
    out = ["##gff-version 3"]
    for line in lines:
        if line.startswith("#") or not line.strip():
            continue
        cols = line.rstrip("\n").split("\t")
        if cols[0] != CHROMOSOME:
            continue
        start, end = int(cols[3]) - 1, int(cols[4])
        for k in chosen:
            name, lo, hi = pieces[k]
            if lo <= start and end <= hi:
                cols[0], cols[3], cols[4] = name, str(start - lo + 1), str(end - lo)
                out.append("\t".join(cols))
                break
    return out


def shift_bam(source: Path, out: Path, pieces: list, chosen) -> None:
    import pysam

    header = {"HD": {"VN": "1.6", "SO": "coordinate"},
              "SQ": [{"SN": pieces[k][0], "LN": pieces[k][2] - pieces[k][1]} for k in chosen]}
    with pysam.AlignmentFile(source) as bam, pysam.AlignmentFile(out, "wb", header=header) as target:
        for new_id, k in enumerate(chosen):
            _, lo, hi = pieces[k]
            for read in bam.fetch(CHROMOSOME, lo, hi):
                if read.is_unmapped or read.reference_start < lo or read.reference_end > hi:
                    continue
                shifted = pysam.AlignedSegment(target.header)
                shifted.query_name = read.query_name
                shifted.flag = read.flag
                shifted.reference_id = new_id
                shifted.reference_start = read.reference_start - lo
                shifted.mapping_quality = read.mapping_quality
                shifted.cigartuples = read.cigartuples
                shifted.query_sequence = read.query_sequence
                shifted.query_qualities = read.query_qualities
                if not read.mate_is_unmapped and read.next_reference_id == read.reference_id \
                        and lo <= read.next_reference_start < hi:
                    shifted.next_reference_id = new_id
                    shifted.next_reference_start = read.next_reference_start - lo
                    shifted.template_length = read.template_length
                else:
                    shifted.next_reference_id = -1
                    shifted.next_reference_start = -1
                    shifted.mate_is_unmapped = read.is_paired
                shifted.set_tags([t for t in read.get_tags() if t[0] in ("XS", "NH")])
                target.write(shifted)
    pysam.index(str(out))


def prepare(data: Path, work: Path) -> dict:
    from helixtune.genome.fasta import iter_fasta, write_fasta

    prep = work / "pieces"
    done = prep / "pieces.json"
    if done.exists():
        return json.loads(done.read_text())
    prep.mkdir(parents=True, exist_ok=True)
    pombe = data / "schizosaccharomyces_pombe"
    genome = dict(iter_fasta(pombe / "SP2.chr.fa.gz"))
    seq = genome[CHROMOSOME]
    gff_lines = (pombe / "SP2.chrI.derived.gff3").read_text().splitlines()
    covered = np.zeros(len(seq), bool)
    for line in gff_lines:
        cols = line.split("\t")
        if len(cols) == 9 and cols[0] == CHROMOSOME:
            covered[int(cols[3]) - 1:int(cols[4])] = True
    points = cut_points(len(seq), covered)
    pieces = [(f"chrI_p{k}", points[k], points[k + 1]) for k in range(N_PIECES)]
    peers = {"geneML": data / "reference_outputs" / "spombe_chrI.geneml_1.3.1.gff3",
             "AUGUSTUS": data / "reference_outputs" / "spombe_chrI.augustus_3.5.gff3"}
    for set_name, chosen in SETS.items():
        write_fasta(prep / f"{set_name}.fa", ((pieces[k][0], seq[pieces[k][1]:pieces[k][2]]) for k in chosen))
        (prep / f"{set_name}.gff3").write_text("\n".join(shift_gff_lines(gff_lines, pieces, chosen)) + "\n")
        for i, bam in enumerate(BAMS):
            shift_bam(pombe / bam, prep / f"{set_name}.rnaseq{i}.bam", pieces, chosen)
    for peer, path in peers.items():
        (prep / f"test.{peer}.gff3").write_text(
            "\n".join(shift_gff_lines(path.read_text().splitlines(), pieces, TEST_PIECES)) + "\n")
    # labels (reference annotation -> training matrices) and coverage tracks
    for set_name in ("train", "validation", "test"):
        labels = prep / f"{set_name}.h5"
        helixtune("gff2h5", "--gff3", prep / f"{set_name}.gff3", "--fasta", prep / f"{set_name}.fa",
                  "--species", "Spombe", "--h5-output-path", labels)
        with_cov = prep / f"{set_name}.cov.h5"
        with_cov.write_bytes(labels.read_bytes())
        helixtune("add-coverage", "-b", *[prep / f"{set_name}.rnaseq{i}.bam" for i in range(len(BAMS))],
                  "-d", with_cov, "--dataset-prefix", "rnaseq", "--second-read-is-sense-strand")
    for suffix in ("", ".cov"):
        tune = prep / f"tune{suffix}"
        tune.mkdir(exist_ok=True)
        for kind, set_name in (("training", "train"), ("validation", "validation")):
            link = tune / f"{kind}_data.h5"
            if not link.exists():
                link.symlink_to((prep / f"{set_name}{suffix}.h5").resolve())
    info = {"pieces": pieces, "test": TEST_PIECES, "train": TRAIN_PIECES, "validation": VALIDATION_PIECES,
            "test_bp": sum(pieces[k][2] - pieces[k][1] for k in TEST_PIECES),
            "tuning_bp": sum(pieces[k][2] - pieces[k][1] for k in SELF_TRAIN_PIECES)}
    done.write_text(json.dumps(info, indent=1))
    return info


# ---- one row ---------------------------------------------------------------------------------------------

def genome_params_tag() -> str:
    """The bundled genome-decoder parameters' md5 (first 8), marked as adapted to the genome (the decoder's
    default with them): a row re-decodes when either changes."""
    from helixtune.decode.params import BUNDLED, DEFAULT_NAME
    from helixtune.model.model_file import file_md5

    return file_md5(BUNDLED / f"{DEFAULT_NAME}.json")[:8] + "-adapted"


def tuning_label_params(prep: Path) -> Path:
    """Genome-decoder statistics fitted on the labelled tuning pieces (train + validation), from the bundled
    parameters' weights: what a user with labels for their species gets from `decode-params fit`."""
    from helixtune.decode.params import DecodeParams, fit_params

    path = prep / f"tuning_labels.{genome_params_tag()}.decode_params.json"
    if not path.exists():
        fit_params([prep / "train.gff3", prep / "validation.gff3"], [prep / "train.fa", prep / "validation.fa"],
                   base=DecodeParams.load()).save(path)
    return path


def score_with_tuning_label_params(prep: Path, predictions: Path, genome_h5: Path, out: Path, threads: int) -> dict:
    """The test pieces decoded with the statistics of the tuning labels (`tuning_label_params`)."""
    from helixtune.decode.pipeline import decode_to_gff3

    gff = out / f"test.genome.fitted.{genome_params_tag()}.gff3"
    if not gff.exists():
        decode_to_gff3(genome_h5, predictions, gff, species="Spombe", threads=threads, show_progress=False,
                       decoder="genome", params=tuning_label_params(prep))
    return gene_level_scores(prep, gff, "fitted_", levels=("cds_exon", "intron", "gene"))


def gene_level_scores(prep: Path, gff: Path, prefix: str = "", levels=("cds_exon", "intron", "gene", "cds_base"),
                      with_reference: bool = False) -> dict:
    """Feature-level F1 of `gff` against the test pieces' reference and its gene count, named with `prefix`
    (and the reference's gene count as `reference_genes`)."""
    from helixtune.evaluate.compare import evaluate

    features = evaluate(prep / "test.gff3", gff, fasta=prep / "test.fa")
    result = {f"{prefix}{level}_f1": features["features"][level]["f1"] for level in levels}
    result[f"{prefix}genes"] = features["sanity"]["prediction"]["genes"]
    if with_reference:
        result["reference_genes"] = features["sanity"]["reference"]["genes"]
    return result


def predict_and_decode(model: Path, genome_h5: Path, out: Path, threads: int) -> tuple[Path, dict, float]:
    """Predict the test pieces once; decode them with both decoders. Returns predictions, {decoder: gff3}, s."""
    from helixtune.decode.pipeline import decode_to_gff3

    from helixtune.data import resolve_model_path
    from helixtune.decode.options import model_decode_params
    from helixtune.model.model_file import read_metadata

    # as annotate: with the decoder statistics a model tuned on labels carries (train --decoder-statistics)
    own = model_decode_params(read_metadata(resolve_model_path(model)))
    predictions = out / "test.predictions.h5"
    gffs = {"helixerpost": out / "test.gff3",
            "genome": out / f"test.genome.{'own-statistics' if own else genome_params_tag()}.gff3"}
    marker = out / "predict_seconds.txt"  # predict + helixerpost decode, of the run that made them
    start = time.time()
    if not predictions.exists():
        helixtune("predict", "-l", model, "-t", genome_h5, "-p", predictions, "--threads", threads)
    if not gffs["helixerpost"].exists():
        decode_to_gff3(genome_h5, predictions, gffs["helixerpost"], min_coding_length=100, species="Spombe",
                       threads=threads, show_progress=False)
        marker.write_text(str(time.time() - start))
    if not gffs["genome"].exists():
        decode_to_gff3(genome_h5, predictions, gffs["genome"], species="Spombe", threads=threads,
                       show_progress=False, decoder="genome", params=own)
    return predictions, gffs, float(marker.read_text()) if marker.exists() else time.time() - start


def score(prep: Path, predictions: Path | None, gff: Path, genome_gff: Path | None = None) -> dict:
    from helixtune.evaluate.compare import evaluate

    out = {}
    if predictions is not None:
        network = evaluate(prep / "test.h5", predictions)["basewise"]["summary"]
        out["network_genic_f1"] = network["genic_f1"]
        out["network_phase_f1"] = network["phase_f1"]
    decoded = evaluate(prep / "test.h5", gff)["basewise"]["summary"]
    out["decoded_genic_f1"] = decoded["genic_f1"]
    out["decoded_phase_f1"] = decoded["phase_f1"]
    out.update(gene_level_scores(prep, gff, with_reference=True))
    if genome_gff is not None:
        out.update(gene_level_scores(prep, genome_gff, "genome_"))
        out["genome_params"] = genome_params_tag()
    return out


def run_cpu_seconds(run_dir: Path) -> float | None:
    """CPU seconds of a training run, from the last row of its metrics.csv."""
    import csv

    metrics = run_dir / "metrics.csv"
    if not metrics.exists():
        return None
    rows = list(csv.DictReader(metrics.open()))
    return float(rows[-1]["cpu_s"]) if rows and rows[-1].get("cpu_s") else None


def row_dir_name(row: str, seed: int) -> str:
    return row if seed == 0 else f"{row}.seed{seed}"


def run_row(row: str, prep: Path, work: Path, args: argparse.Namespace) -> dict:
    """One row: tune (or not), predict the test pieces, decode both ways, score. `args`: the script's options."""
    base_model, threads = args.base_model, args.threads
    out = work / "rows" / row_dir_name(row, args.seed)
    out.mkdir(parents=True, exist_ok=True)
    train_seconds = 0.0
    cpu_seconds = None
    command = None
    genome_h5 = prep / "test.h5"
    fine_tune = {"whole": "whole", "head": "head", "head+hidden": "head+hidden", "coverage": "coverage"}
    if row in ("geneML", "AUGUSTUS"):
        result = score(prep, None, prep / f"test.{row}.gff3")
        result.update(train_seconds=None, predict_seconds=None,
                      command="whole-chromosome output from reference_outputs/, shifted onto the test pieces")
        return result
    budget = ["--max-time", args.max_time, "--patience", args.patience, "--select-by", args.select_by,
              "--check-every-nth-batch", args.check_every_nth_batch, "--seed", args.seed]
    if row == "base":
        model = base_model
    elif row in fine_tune:
        model = out / "model.safetensors"
        data_dir = prep / ("tune.cov" if row == "coverage" else "tune")
        learning_rate = args.whole_learning_rate if row == "whole" else args.learning_rate
        command = ["train", "-d", data_dir, "-l", base_model, "--fine-tune-mode", fine_tune[row],
                   "-s", model, "--run-dir", out / "run", "--epochs", 1000, "--batch-size", 8,
                   "--val-test-batch-size", 16, "--learning-rate", learning_rate,
                   "--transition-weights", "[1, 12, 3, 1, 12, 3]", *budget]
        if row == args.selection_row:  # the selection table reads every check of this run
            command += ["--save-every-check"]
        if args.class_weights != "none":
            command += ["--class-weights", args.class_weights]
        if row == "coverage":
            command += ["--coverage-norm", "log"]
            genome_h5 = prep / "test.cov.h5"
        if not model.exists():
            train_seconds = helixtune(*command, quiet=False)
        cpu_seconds = run_cpu_seconds(out / "run")
    else:  # self-training: the whole pseudolabel loop on the tuning pieces, no annotation given
        run_dir = out / "self_train"
        rounds = args.rounds if row == "self-train-rounds" else 1
        command = ["self-train", "--fasta", prep / "selftrain.fa", "--load-model-path", base_model, "--out", run_dir,
                   "--species", "Spombe", "--epochs", 1000, "--learning-rate", args.self_train_learning_rate,
                   "--keep-fraction", args.keep_fraction, "--no-overlap", "--rounds", rounds,
                   "--decoder", args.self_train_decoder if row == "self-train" else "genome",
                   *(["--keep-implausible-genes"] if args.keep_implausible_genes else []),
                   "--threads", threads, *budget]
        if row == "self-train+coverage":
            command += ["--bam", *[prep / f"selftrain.rnaseq{i}.bam" for i in range(len(BAMS))],
                        "--second-read-is-sense-strand"]
            genome_h5 = prep / "test.cov.h5"
        else:
            command += ["--fine-tune-mode", "whole"]
        marker = out / "train_seconds.txt"
        if not marker.exists():
            marker.write_text(str(helixtune(*command, quiet=False)))
        train_seconds = float(marker.read_text())
        # the last round that finished (self-train stops early when a round's pseudolabels look degenerate)
        round_dirs = [run_dir, *(run_dir / f"round{k}" for k in range(2, rounds + 1))]
        finished = [d for d in round_dirs if (d / "tuned" / "model.safetensors").exists()]
        if not finished:
            raise RuntimeError(f"self-train left no tuned model in {run_dir}")
        result_file = run_dir / "result.json"  # the round self-train kept (it stops rounds that drift)
        model = Path(json.loads(result_file.read_text())["tuned_model"]) if result_file.exists() \
            else finished[-1] / "tuned" / "model.safetensors"
        cpu = [run_cpu_seconds(p.parent) for d in finished for p in (d / "tuned").rglob("metrics.csv")]
        cpu_seconds = sum(c for c in cpu if c) or None
    if train_seconds == 0.0 and (out / "train_seconds.txt").exists():
        train_seconds = float((out / "train_seconds.txt").read_text())
    elif train_seconds:
        (out / "train_seconds.txt").write_text(str(train_seconds))
    predictions, gffs, predict_seconds = predict_and_decode(model, genome_h5, out, threads)
    result = score(prep, predictions, gffs["helixerpost"], gffs["genome"])
    if row == "base" or row in fine_tune:  # the rows a user with labels for the species would run
        result.update(score_with_tuning_label_params(prep, predictions, genome_h5, out, threads))
    result.update(train_seconds=round(train_seconds, 1), train_cpu_seconds=cpu_seconds,
                  predict_seconds=round(predict_seconds, 1), seed=args.seed, model=str(model.relative_to(work))
                  if model.is_relative_to(work) else model.name,
                  command="helixtune " + " ".join(str(c) for c in command) if command else None)
    return result


def selection_table(prep: Path, work: Path, args: argparse.Namespace) -> list[dict]:
    """The selection row's run, its checkpoint picked by each --select-by metric, scored on the test pieces."""
    import csv

    out = work / "rows" / row_dir_name(args.selection_row, args.seed)
    metrics = out / "run" / "metrics.csv"
    if not (work / "results" / f"{row_dir_name(args.selection_row, args.seed)}.json").exists():
        return []  # the run is not finished
    checks = list(csv.DictReader(metrics.open()))
    columns = {"genic-f1": "genic_f1", "sub-genic-f1": "sub_genic_f1", "cds-exon-f1": "cds_exon_f1",
               "gene-f1": "gene_f1"}
    from helixtune.model.model_file import read_metadata

    # each check's model file names its check in its provenance (file names do not sort by check)
    saved = {int(read_metadata(path)["provenance"]["training"]["check"]): path
             for path in (out / "run" / "checks").glob("model_*.safetensors")}
    if sorted(saved) != [int(c["check"]) for c in checks]:
        log(f"selection table: saved checks {sorted(saved)} do not match metrics.csv; skipped")
        return []
    table_rows = []
    genome_checks = replay_genome_gene_checks(saved, prep, out, args.threads)
    for metric, column in [*columns.items(), ("gene-f1, genome-decoder checks", "genome_check_gene_f1")]:
        if column == "genome_check_gene_f1":
            values = [genome_checks[int(c["check"])] for c in checks]
        else:
            values = [float(c[column]) if c.get(column) not in (None, "") else float("nan") for c in checks]
        if all(np.isnan(values)):
            continue
        best = int(np.nanargmax(values))  # the first check with the best value, as train keeps it
        model = saved[int(checks[best]["check"])]
        check_out = out / "selected" / model.stem
        check_out.mkdir(parents=True, exist_ok=True)
        predictions, gffs, _ = predict_and_decode(model, prep / "test.h5", check_out, args.threads)
        scored = score(prep, predictions, gffs["helixerpost"], gffs["genome"])
        table_rows.append({"select_by": metric, "check": int(checks[best]["check"]),
                           "step": int(checks[best]["step"]), "validation_value": values[best], **scored})
    return table_rows


def replay_genome_gene_checks(saved: dict, prep: Path, out: Path, threads: int) -> dict:
    """{check: validation gene F1} of every saved check, decoded by the genome decoder (`train
    --gene-check-decoder genome`), for runs whose checks were decoded by HelixerPost's; cached in
    `genome_checks.json`."""
    from helixtune.model.model_file import load_model
    from helixtune.train.gene_check import GeneLevelCheck

    cache = out / "genome_checks.json"
    known = {int(k): v for k, v in json.loads(cache.read_text()).items()} if cache.exists() else {}
    check = None
    for number, path in sorted(saved.items()):
        if number in known:
            continue
        if check is None:
            check = GeneLevelCheck([prep / "tune" / "validation_data.h5"], out / "genome_check", decoder="genome",
                                   threads=threads)
        known[number] = check(load_model(path)[0])["gene_f1"]
        cache.write_text(json.dumps(known, indent=1))
        log(f"selection table: check {number} scores validation gene F1 {known[number]:.3f} (genome decoder)")
    return known


# ---- report ---------------------------------------------------------------------------------------------

COLUMNS = (("network_genic_f1", "genic F1 (network)"), ("network_phase_f1", "phase F1 (network)"),
           ("cds_exon_f1", "CDS-exon F1 (HelixerPost)"), ("gene_f1", "gene F1 (HelixerPost)"),
           ("genes", "genes (HelixerPost)"), ("genome_cds_exon_f1", "CDS-exon F1 (genome)"),
           ("genome_intron_f1", "intron F1 (genome)"), ("genome_gene_f1", "gene F1 (genome)"),
           ("genome_genes", "genes (genome)"), ("fitted_cds_exon_f1", "CDS-exon F1 (genome, label statistics)"),
           ("fitted_gene_f1", "gene F1 (genome, label statistics)"),
           ("fitted_genes", "genes (genome, label statistics)"),
           ("train_cpu_seconds", "train CPU s"), ("train_seconds", "train s"))
SEED_COLUMNS = (("network_genic_f1", "genic F1"), ("gene_f1", "gene F1 (HelixerPost)"),
                ("genome_gene_f1", "gene F1 (genome)"), ("genome_cds_exon_f1", "CDS-exon F1 (genome)"),
                ("genome_genes", "genes (genome)"), ("train_cpu_seconds", "train CPU s"))
SELECTION_COLUMNS = (("check", "check"), ("validation_value", "its validation value"),
                     ("network_genic_f1", "held-out genic F1"), ("gene_f1", "held-out gene F1 (HelixerPost)"),
                     ("genome_gene_f1", "held-out gene F1 (genome)"),
                     ("genome_cds_exon_f1", "held-out CDS-exon F1 (genome)"), ("genome_genes", "genes (genome)"))


def cell(key: str, value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and key.endswith("seconds"):
        return f"{value:.0f}"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def markdown(header: list[str], rows: list[list[str]]) -> str:
    return "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
                     + ["| " + " | ".join(r) + " |" for r in rows])


def table(results: dict) -> str:
    rows = []
    for row in ROWS:
        if row not in results:
            rows.append([ROW_TITLES[row]] + ["not run"] * len(COLUMNS))
        else:
            rows.append([ROW_TITLES[row]] + [cell(key, results[row].get(key)) for key, _ in COLUMNS])
    return markdown(["row"] + [title for _, title in COLUMNS], rows)


def seeds_table(results: dict) -> str:
    """Every seed of every row run with more than one seed, and the mean over seeds."""
    rows = []
    for row in ROWS:
        runs = sorted((r for key, r in results.items() if key == row or key.startswith(row + ".seed")),
                      key=lambda r: r.get("seed", 0))
        if len(runs) < 2:
            continue
        for run in runs:
            rows.append([ROW_TITLES[row], str(run.get("seed", 0))] + [cell(k, run.get(k)) for k, _ in SEED_COLUMNS])
        means = []
        for key, _ in SEED_COLUMNS:
            values = [r.get(key) for r in runs if isinstance(r.get(key), (int, float))]
            mean = float(np.mean(values)) if values else None
            means.append("–" if mean is None else f"{mean:.0f}" if key.endswith("genes") else cell(key, mean))
        rows.append([ROW_TITLES[row], "mean"] + means)
    return markdown(["row", "seed"] + [title for _, title in SEED_COLUMNS], rows) if rows else ""


def selection_markdown(selection: list[dict]) -> str:
    rows = [[f"`{s['select_by']}`"] + [cell(k, s.get(k)) for k, _ in SELECTION_COLUMNS] for s in selection]
    return markdown(["--select-by"] + [title for _, title in SELECTION_COLUMNS], rows) if rows else ""


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in ROWS if r in results]
    keys = [("network_genic_f1", "genic F1 (network)"), ("cds_exon_f1", "CDS-exon F1 (HelixerPost)"),
            ("gene_f1", "gene F1 (HelixerPost)"), ("genome_cds_exon_f1", "CDS-exon F1 (genome)"),
            ("genome_gene_f1", "gene F1 (genome)")]
    fig, ax = plt.subplots(figsize=(12, 4))
    width = 0.8 / len(keys)
    x = np.arange(len(rows))
    for i, (key, label) in enumerate(keys):
        ax.bar(x + (i - len(keys) / 2 + 0.5) * width, [results[r].get(key) or 0 for r in rows], width, label=label)
    ax.set_xticks(x, rows, rotation=20)
    ax.set_ylim(0, 1)
    ax.set_ylabel("F1 on the held-out pieces")
    ax.legend(fontsize=8, ncol=5, loc="upper center", bbox_to_anchor=(0.5, 1.15))
    fig.savefig(path, dpi=110, bbox_inches="tight")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, type=Path, help="the shared data folder")
    parser.add_argument("--work", type=Path, default=REPOSITORY / "scratch" / "study")
    parser.add_argument("--base-model", type=Path,
                        default=REPOSITORY / "src" / "helixtune" / "data" / "models" / "fungi_base.safetensors")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-time", default="12m", help="every tuning row: train --max-time (per round)")
    parser.add_argument("--patience", type=int, default=4, help="every tuning row: checks without improvement")
    parser.add_argument("--check-every-nth-batch", type=int, default=30,
                        help="every tuning row: batches between validation checks (and one at each epoch end)")
    parser.add_argument("--select-by", default="gene-f1", help="every tuning row: train --select-by")
    parser.add_argument("--selection-row", default="whole",
                        help="the row whose checks make the selection table (saved at every check)")
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="head, head+hidden and coverage rows")
    parser.add_argument("--whole-learning-rate", type=float, default=1e-4, help="the whole-network row")
    parser.add_argument("--class-weights", default="[0.7, 1.6, 1.2, 1.2]",
                        help="rows tuned on reference labels: train --class-weights (default upstream's recommended "
                             "weights; 'none' for unweighted classes)")
    parser.add_argument("--self-train-learning-rate", type=float, default=1e-4, help="self-training rows")
    parser.add_argument("--self-train-decoder", default="helixerpost",
                        help="the self-train row's --decoder (the comparison; the other self-training rows use "
                             "self-train's default, the genome decoder)")
    parser.add_argument("--keep-fraction", type=float, default=0.5,
                        help="self-training rows: pseudolabels kept (self-train's default)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the tuning (and of self-train's split)")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="rounds of the self-train-rounds row")
    parser.add_argument("--keep-implausible-genes", action="store_true",
                        help="self-training rows: train on every decoded gene as decoded (no pseudolabel checks)")
    parser.add_argument("--rows", nargs="+", choices=ROWS, default=list(ROWS))
    args = parser.parse_args()

    info = prepare(args.data, args.work)
    log(f"pieces ready: test {info['test_bp']:,} bp, tuning {info['tuning_bp']:,} bp")
    results_dir = args.work / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    for row in args.rows:
        target = results_dir / f"{row_dir_name(row, args.seed)}.json"
        if target.exists():
            known = json.loads(target.read_text())
            if known.get("genome_params", genome_params_tag()) == genome_params_tag() or row in ("geneML", "AUGUSTUS"):
                continue
            log(f"row {row}: the genome decoder's parameters changed; decoding again")
        log(f"row {row} (seed {args.seed})")
        try:
            result = run_row(row, args.work / "pieces", args.work, args)
        except Exception as err:  # a failed row is reported as not run, the others go on
            log(f"row {row} FAILED: {err}")
            (results_dir / f"{row_dir_name(row, args.seed)}.failed.txt").write_text(str(err))
            continue
        target.write_text(json.dumps(result, indent=1))
        log(f"row {row}: " + ", ".join(f"{k} {v:.3f}" for k, v in result.items() if isinstance(v, float)))
    selection = selection_table(args.work / "pieces", args.work, args)
    (results_dir / "selection.json").write_text(json.dumps(selection, indent=1))
    results = {p.stem: json.loads(p.read_text()) for p in results_dir.glob("*.json")
               if p.stem not in ("selection",)}
    report = table(results)
    if seeds_table(results):
        report += "\n\nSeeds:\n\n" + seeds_table(results)
    if selection:
        report += f"\n\nCheckpoint selection ({args.selection_row} row, seed {args.seed}):\n\n" \
                  + selection_markdown(selection)
    (results_dir / "table.md").write_text(report + "\n")
    plot(results, results_dir / "study.png")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
