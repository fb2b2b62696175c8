"""The whole pseudolabel loop in one resumable call (`helixtune self-train`).

    encode -> [add-coverage] -> predict (base model) -> decode -> import + export (pseudolabels) + checks
    -> [add-coverage] -> select-confident -> split -> fine-tune -> predict + decode (tuned model) -> report

`rounds` > 1 repeats the loop from each round's tuned model (in <out>/round<k>/).

Every step writes its outputs under the run directory, each file atomically, and records in `state.json`
what it did and with which options. A rerun skips every step whose record matches (same options, same
upstream steps) and whose outputs exist, so an interrupted run (Ctrl-C, kill, power cut) resumes at the
step it was in; fine-tuning itself resumes from its last checkpoint. Changing an option reruns the step it
affects and every step after it.

Two label-quality gates stop the run (with a one-line reason) before training on degenerate
pseudolabels: when the base model's predictions decode to (almost) no genes, and when the selected
subsequences are (almost) all intergenic or all genic. `allow_degenerate_labels` overrides them. In
rounds after the first, a gate ends the loop instead of the run, keeping the last good round.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from helixtune import h5layout
from helixtune.annotate import DecodeOptions, choose_subsequence_length, default_species
from helixtune.atomic import atomic_output
from helixtune.errors import HelixtuneError, InputFileError
from helixtune.pseudolabel.plausibility import CHECKS_VERSION, clean_pseudolabels, describe

STATE_FILE = "state.json"


@dataclass
class SelfTrainOptions:
    species: str | None = None
    subsequence_length: int | None = None
    lineage: str | None = None
    bam: list[str] | None = None
    strandedness: str | None = None
    fine_tune_mode: str | None = None  # default: "coverage" with BAMs, else "whole"
    keep_fraction: float = 0.5
    mask_implausible_genes: bool = True  # the pseudolabel checks of pseudolabel/plausibility.py
    rounds: int = 1  # round k > 1 starts from round k-1's tuned model, in <out>/round<k>/
    val_fraction: float = 0.2
    seed: int = 0
    region_bp: int = 1_000_000
    overlap: bool = True
    batch_size: int = 32
    device: str = "cpu"
    threads: int | None = None
    decode: DecodeOptions = field(default_factory=DecodeOptions)
    # fine-tuning
    epochs: int = 5
    patience: int = 2
    train_batch_size: int = 8
    learning_rate: float = 1e-3
    check_every_nth_batch: int = 1_000_000
    select_by: str = "genic-f1"  # what picks the tuned checkpoint (train --select-by)
    max_time: float | None = None  # seconds of tuning per round (train --max-time)
    max_steps: int | None = None  # optimizer steps of tuning per round (train --max-steps)
    coverage_norm: str = "log"
    # label-quality gate
    allow_degenerate_labels: bool = False
    min_genes: int = 5
    min_genic_fraction: float = 0.01
    max_genic_fraction: float = 0.95
    # report
    reference_gff: str | None = None


@dataclass
class SelfTrainResult:
    out_dir: str
    tuned_model: str
    base_gff: str
    tuned_gff: str
    report: str
    skipped_steps: list[str]
    run_steps: list[str]
    base_predictions: str = ""


class DegenerateLabels(HelixtuneError):
    """The pseudolabels are not worth training on (the label-quality gate)."""


def _log(message: str) -> None:
    print(f"self-train: {message}", file=sys.stderr, flush=True)


def _file_identity(path) -> dict:
    path = Path(path)
    stat = path.stat()
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


class _Run:
    """Steps that skip themselves when `state.json` says they are complete and their outputs exist."""

    def __init__(self, out_dir: Path, n_steps: int, label: str = ""):
        self.out_dir = out_dir
        self.label = label  # e.g. "round 2 " when self-training runs in rounds
        self.state_path = out_dir / STATE_FILE
        self.state = {"steps": {}}
        if self.state_path.exists():
            try:
                self.state = json.loads(self.state_path.read_text())
            except (json.JSONDecodeError, OSError) as err:
                raise InputFileError(self.state_path, f"unreadable run state ({err}); remove it to start over")
        self.n_steps = n_steps
        self.index = 0
        self.chain = "start"  # digest of every earlier step's key: a change upstream reruns what follows
        self.skipped: list[str] = []
        self.ran: list[str] = []

    def step(self, name: str, key: dict, outputs: list[Path], function):
        self.index += 1
        key = dict(key, after=self.chain)
        digest = _digest(key)
        self.chain = _digest([self.chain, name, digest])
        record = self.state["steps"].get(name)
        prefix = f"{self.label}[{self.index}/{self.n_steps}] {name}"
        if record and record.get("key") == digest and all(Path(p).exists() for p in outputs):
            _log(f"{prefix}: complete, skipped")
            self.skipped.append(name)
            return record.get("summary", {})
        _log(f"{prefix}: running")
        summary = function() or {}
        self.state["steps"][name] = {"key": digest, "outputs": [str(p) for p in outputs], "summary": summary,
                                     "finished": str(datetime.datetime.now())}
        with atomic_output(self.state_path) as tmp:
            tmp.write_text(json.dumps(self.state, indent=1, default=str))
        self.ran.append(name)
        return summary


def _plain(value):
    """JSON-ready copy: dict keys as strings, anything unusual as its str()."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _asdict(summary) -> dict:
    """A step's summary (a dataclass) as plain JSON data for state.json."""
    if dataclasses.is_dataclass(summary):
        return _plain(dataclasses.asdict(summary))
    return _plain(dict(summary or {}))


def _coverage_step(run: _Run, name: str, h5_path: Path, options: SelfTrainOptions) -> None:
    from helixtune.coverage import add_coverage

    def add():
        with h5layout.open_h5(h5_path, "r+") as h5:
            if h5layout.bam_files_spec("rnaseq").path in h5:
                names = h5layout.decode_strings(h5[h5layout.bam_files_spec("rnaseq").path][:])
                if names == [str(b) for b in options.bam]:  # killed after the rename, before the state save
                    return {"tracks": len(names), "reused": True}
            for name in ("evaluation/rnaseq_coverage", "evaluation/rnaseq_spliced_coverage", "evaluation/rnaseq_meta"):
                if name in h5:  # tracks of an earlier run with other BAMs: this run's file, replaced
                    del h5[name]
        summary = add_coverage(h5_path, options.bam, options.strandedness, prefix="rnaseq",
                               threads=options.threads or 1)
        return {"tracks": summary.n_tracks_total, "reads": summary.reads_per_bam}

    run.step(name, {"bam": [_file_identity(b) for b in options.bam], "strandedness": options.strandedness},
             [h5_path], add)


def prediction_confidence(genome_h5, predictions_h5, block_rows: int = 64) -> dict:
    """Mean of the highest class probability over real bases, and the share of bases above 0.9 / below 0.6."""
    total = high = low = 0
    summed = 0.0
    histogram = np.zeros(20, dtype=np.int64)
    with h5layout.open_h5(genome_h5) as genome, h5layout.open_h5(predictions_h5) as predictions:
        start_ends = genome[h5layout.START_ENDS.path][:]
        layout = predictions.attrs.get("padded_minus_layout", "genome")
        dataset = predictions[h5layout.PREDICTIONS.path]
        for begin in range(0, len(start_ends), block_rows):
            rows = dataset[begin:begin + block_rows]
            se = start_ends[begin:begin + block_rows]
            if layout == "helixer-0.3.6":
                rows = h5layout.rotate_minus_padding_last(rows, se)
            best = rows.max(axis=-1).astype(np.float64)
            real = np.arange(rows.shape[1])[None, :] < h5layout.real_lengths(se)[:, None]
            values = best[real]
            total += values.size
            summed += values.sum()
            high += int((values >= 0.9).sum())
            low += int((values < 0.6).sum())
            histogram += np.histogram(values, bins=20, range=(0, 1))[0]
    return {"bases": total, "mean_max_probability": summed / max(total, 1), "share_above_0.9": high / max(total, 1),
            "share_below_0.6": low / max(total, 1), "histogram_0_to_1_by_0.05": histogram.tolist()}


def _gene_count(gff_path) -> int:
    count = 0
    with open(gff_path, encoding="utf-8") as handle:
        for line in handle:
            if not line.startswith("#"):
                parts = line.split("\t", 3)
                if len(parts) > 2 and parts[2] == "gene":
                    count += 1
    return count


def _comparison(reference, prediction, fasta) -> dict:
    """A few headline numbers of `helixtune evaluate` (prediction against reference)."""
    from helixtune.evaluate.compare import evaluate

    result = evaluate(reference, prediction, fasta=fasta)
    out = {"genic_f1_basewise": result["basewise"]["genic_base_wise"]["scores"]["genic"]["f1"],
           "cds_f1_basewise": result["basewise"]["genic_base_wise"]["scores"]["exon"]["f1"]}
    for level, scores in (result.get("features") or {}).items():
        out[f"{level}_f1"] = scores["f1"]
    return out


def fine_tune_mode(options: SelfTrainOptions) -> str:
    """What is trained: the mode given, else coverage mode with BAMs and the whole network without.

    Without coverage the whole network is tuned from the base weights (a new head starts from scratch and
    needs far more pseudolabelled data than a few epochs of one genome give); coverage needs the new head.
    """
    return options.fine_tune_mode or ("coverage" if options.bam else "whole")


def self_train(fasta, base_model, out_dir, options: SelfTrainOptions | None = None) -> SelfTrainResult:
    """Run (or resume) the pseudolabel loop for the genome in `fasta`, starting from `base_model`.

    With `options.rounds` = n > 1 the loop runs n times: round 1 in `out_dir`, round k in `out_dir/round<k>`
    from round k-1's tuned model, each with fresh pseudolabels. The last round's report compares the first
    base model with the last tuned model; the result names the last round's files.
    """
    options = options or SelfTrainOptions()
    rounds = options.rounds
    if rounds < 1:
        raise HelixtuneError(f"--rounds must be at least 1, got {rounds}")
    if rounds > 1 and (options.bam or fine_tune_mode(options) != "whole"):
        raise HelixtuneError("--rounds above 1 tunes the whole network in every round: use it without --bam and "
                             "with --fine-tune-mode whole")
    first = _self_train_round(fasta, base_model, out_dir, options)
    result = first
    skipped, ran = list(first.skipped_steps), list(first.run_steps)
    for k in range(2, rounds + 1):
        try:
            result = _self_train_round(fasta, result.tuned_model, Path(out_dir) / f"round{k}", options,
                                       label=f"round {k} ", report_base=first)
        except DegenerateLabels as stop:  # the drift self-training can fall into: keep the last good round
            _log(f"round {k} stopped, its pseudolabels look degenerate ({stop}); the result is round {k - 1}'s")
            break
        skipped += [f"round {k}: {name}" for name in result.skipped_steps]
        ran += [f"round {k}: {name}" for name in result.run_steps]
    return dataclasses.replace(result, base_gff=first.base_gff, base_predictions=first.base_predictions,
                               skipped_steps=skipped, run_steps=ran)


def _self_train_round(fasta, base_model, out_dir, options: SelfTrainOptions, label: str = "",
                      report_base: SelfTrainResult | None = None) -> SelfTrainResult:
    """One pass of the loop; `report_base`: the first round, whose base model the report compares with."""
    from helixtune.annotation.pipeline import gff_to_h5
    from helixtune.decode.pipeline import decode_to_gff3
    from helixtune.genome.encode import encode_fasta
    from helixtune.model.loading import open_model
    from helixtune.predict.run import PredictOptions, predict
    from helixtune.pseudolabel.select import select_confident
    from helixtune.pseudolabel.split import split
    from helixtune.train.config import TrainConfig
    from helixtune.train.run import train_model

    fasta, base_model, out_dir = Path(fasta).resolve(), Path(base_model).resolve(), Path(out_dir).resolve()
    if not fasta.is_file():
        raise InputFileError(fasta, "no such file")
    if options.bam and not options.strandedness:
        raise HelixtuneError("--bam needs one of --second-read-is-sense-strand, --first-read-is-sense-strand, "
                             "--unstranded")
    if options.bam:
        options.bam = [str(Path(b).resolve()) for b in options.bam]
    mode = fine_tune_mode(options)
    if mode == "coverage" and not options.bam:
        raise HelixtuneError("--fine-tune-mode coverage needs RNA-seq alignments (--bam)")
    loaded = open_model(base_model)
    if loaded.coverage_datasets:
        raise HelixtuneError(f"{base_model}: the base model already takes coverage input; self-train starts from a "
                             "sequence-only model")
    length = choose_subsequence_length(options.subsequence_length, options.lineage, loaded,
                                       int(loaded.model.pool_size))
    del loaded
    species = options.species or default_species(fasta)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "genome": out_dir / "genome.h5",
        "base_predictions": out_dir / "base" / "predictions.h5",
        "base_gff": out_dir / "base" / "annotation.gff3",
        "labels": out_dir / "pseudolabels" / "labels.h5",
        "confident": out_dir / "pseudolabels" / "confident.h5",
        "selection_plot": out_dir / "pseudolabels" / "selection.png",
        "data": out_dir / "pseudolabels" / "data",
        "tuned_model": out_dir / "tuned" / "model.safetensors",
        "tuned_predictions": out_dir / "tuned" / "predictions.h5",
        "tuned_gff": out_dir / "tuned" / "annotation.gff3",
        "report": out_dir / "report.md",
        "report_json": out_dir / "report.json",
    }
    n_steps = 10 + (2 if options.bam else 0)
    run = _Run(out_dir, n_steps, label)
    predict_options = PredictOptions(batch_size=options.batch_size, overlap=options.overlap, device=options.device,
                                     threads=options.threads)
    decode_key = options.decode.keywords()

    # 1. encode (+ coverage)
    run.step("encode", {"fasta": _file_identity(fasta), "species": species, "length": length}, [paths["genome"]],
             lambda: _asdict(encode_fasta(fasta, paths["genome"], species, subsequence_length=length,
                                          threads=options.threads)))
    if options.bam:
        _coverage_step(run, "add-coverage (genome)", paths["genome"], options)

    # 2. base model: predict, decode; gate on the number of genes
    run.step("predict (base model)", {"model": _file_identity(base_model), "overlap": options.overlap},
             [paths["base_predictions"]],
             lambda: _asdict(predict(base_model, paths["genome"], paths["base_predictions"], predict_options)))
    base_decoded = run.step("decode (base model)", decode_key, [paths["base_gff"]],
                            lambda: _asdict(decode_to_gff3(paths["genome"], paths["base_predictions"],
                                                           paths["base_gff"], species=species,
                                                           threads=options.threads, **decode_key)))
    genes = int(base_decoded.get("genes", _gene_count(paths["base_gff"])))
    if genes < options.min_genes and not options.allow_degenerate_labels:
        raise DegenerateLabels(f"{paths['base_gff']}: the base model's predictions decode to {genes} gene(s) "
                               f"(fewer than {options.min_genes}); pseudolabels would be all intergenic. Try another "
                               "base model or lower --peak-threshold; --allow-degenerate-labels goes on anyway")

    # 3. pseudolabels: import + export the decoded GFF3, select the confident subsequences, split them
    def import_export():
        imported, exported = gff_to_h5(paths["base_gff"], fasta, paths["labels"], species, subsequence_length=length)
        summary = {"import": _asdict(imported), "export": _asdict(exported)}
        if options.mask_implausible_genes:  # in place, like add-coverage: an interrupted step is redone whole
            summary["checks"] = _asdict(clean_pseudolabels(paths["labels"], paths["base_gff"], fasta))
        return summary

    pseudolabels = run.step("import + export pseudolabels",
                            {"length": length, "mask_implausible_genes": options.mask_implausible_genes,
                             "checks": CHECKS_VERSION},
                            [paths["labels"]], import_export)
    checks = pseudolabels.get("checks")
    if checks:
        _log(describe(checks))
    if options.bam:
        _coverage_step(run, "add-coverage (pseudolabels)", paths["labels"], options)
    selection = run.step("select-confident", {"keep_fraction": options.keep_fraction}, [paths["confident"]],
                         lambda: _asdict(select_confident(paths["labels"], paths["base_predictions"],
                                                          paths["confident"], options.keep_fraction,
                                                          genome_h5=paths["genome"],
                                                          plot_path=paths["selection_plot"])))
    genic = float(selection.get("genic_fraction_kept", 0.0))
    if not options.allow_degenerate_labels and not (options.min_genic_fraction <= genic <= options.max_genic_fraction):
        raise DegenerateLabels(f"{paths['confident']}: {100 * genic:.2f}% of the selected pseudolabelled bases are "
                               f"genic, outside [{100 * options.min_genic_fraction:g}%, "
                               f"{100 * options.max_genic_fraction:g}%]; the pseudolabels look degenerate "
                               "(--allow-degenerate-labels goes on anyway)")
    training, validation = paths["data"] / "training_data.h5", paths["data"] / "validation_data.h5"
    split_summary = run.step("split", {"val_fraction": options.val_fraction, "seed": options.seed,
                                       "region_bp": options.region_bp}, [training, validation],
                             lambda: _asdict(split(paths["confident"], f"{paths['data']}/",
                                                   val_fraction=options.val_fraction, seed=options.seed,
                                                   region_bp=options.region_bp)))
    if int(split_summary.get("validation_rows", 0)) == 0:
        raise DegenerateLabels(f"{validation}: no validation subsequences; keep more (--keep-fraction) or use a "
                               "smaller --region-bp")

    # 4. fine-tune (resumes from its own checkpoint when interrupted)
    config = TrainConfig(data_dir=str(paths["data"]), save_model_path=str(paths["tuned_model"]),
                         load_model_path=str(base_model), fine_tune_mode=mode,
                         input_coverage=mode == "coverage", coverage_norm=options.coverage_norm if mode == "coverage"
                         else None, epochs=options.epochs, patience=options.patience,
                         batch_size=options.train_batch_size, val_test_batch_size=options.batch_size,
                         learning_rate=options.learning_rate, check_every_nth_batch=options.check_every_nth_batch,
                         select_by=options.select_by, max_time=options.max_time, max_steps=options.max_steps,
                         seed=options.seed, accelerator="cpu" if options.device == "cpu" else "auto",
                         allow_degenerate_labels=options.allow_degenerate_labels,
                         min_genic_fraction=options.min_genic_fraction,
                         command=f"helixtune self-train --fasta {fasta} --load-model-path {base_model} --out {out_dir}")
    paths["tuned_model"].parent.mkdir(parents=True, exist_ok=True)
    run.step("fine-tune", {"mode": mode, "epochs": options.epochs, "patience": options.patience,
                           "batch": options.train_batch_size, "lr": options.learning_rate,
                           "check_every": options.check_every_nth_batch, "select_by": options.select_by,
                           "max_time": options.max_time, "max_steps": options.max_steps}, [paths["tuned_model"]],
             lambda: {"model": str(train_model(config))})

    # 5. tuned model: predict, decode
    run.step("predict (tuned model)", {"overlap": options.overlap}, [paths["tuned_predictions"]],
             lambda: _asdict(predict(paths["tuned_model"], paths["genome"], paths["tuned_predictions"],
                                     predict_options)))
    run.step("decode (tuned model)", decode_key, [paths["tuned_gff"]],
             lambda: _asdict(decode_to_gff3(paths["genome"], paths["tuned_predictions"], paths["tuned_gff"],
                                            species=species, threads=options.threads, **decode_key)))

    # 6. report
    reference = str(Path(options.reference_gff).resolve()) if options.reference_gff else None
    report_paths = dict(paths)
    if report_base is not None:  # later rounds: the first base model against this round's tuned model
        report_paths["base_gff"] = Path(report_base.base_gff)
        report_paths["base_predictions"] = Path(report_base.base_predictions)
    run.step("report", {"reference": _file_identity(reference) if reference else None,
                        "base": _file_identity(report_paths["base_gff"])},
             [paths["report"], paths["report_json"]],
             lambda: write_report(report_paths, fasta, species, mode, selection, split_summary, reference, checks))
    _log(f"done: tuned model {paths['tuned_model']}, annotation {paths['tuned_gff']}, report {paths['report']}")
    return SelfTrainResult(str(out_dir), str(paths["tuned_model"]), str(paths["base_gff"]), str(paths["tuned_gff"]),
                           str(paths["report"]), run.skipped, run.ran, str(paths["base_predictions"]))


def write_report(paths: dict, fasta, species: str, mode: str, selection: dict, split_summary: dict,
                 reference_gff=None, checks: dict | None = None) -> dict:
    """report.json and report.md: gene counts, base-vs-tuned agreement, confidence, and (optionally) accuracy.

    `checks`: the summary of the pseudolabel checks (None when they were turned off)."""
    checks = checks or {}
    report = {"species": species, "fasta": str(fasta), "fine_tune_mode": mode,
              "pseudolabels": {"subsequences": selection.get("n_rows"), "kept": selection.get("n_kept"),
                               "genic_fraction_kept": selection.get("genic_fraction_kept"),
                               "discrepancy_mean_all": selection.get("discrepancy_mean_all"),
                               "discrepancy_mean_kept": selection.get("discrepancy_mean_kept"),
                               "training_rows": split_summary.get("training_rows"),
                               "validation_rows": split_summary.get("validation_rows"),
                               "decoded_genes": checks.get("genes"),
                               "implausible_genes_masked": checks.get("genes_masked"),
                               "implausible_reasons": checks.get("reasons"),
                               "introns_relabelled_cds": checks.get("introns_relabelled_cds"),
                               "introns_masked": checks.get("introns_masked")},
              "models": {}}
    for name in ("base", "tuned"):
        gff = paths[f"{name}_gff"]
        report["models"][name] = {
            "gff3": str(gff), "genes": _gene_count(gff),
            "confidence": prediction_confidence(paths["genome"], paths[f"{name}_predictions"])}
    report["agreement_tuned_vs_base"] = _comparison(paths["base_gff"], paths["tuned_gff"], fasta)
    if reference_gff:
        report["reference"] = str(reference_gff)
        for name in ("base", "tuned"):
            report["models"][name]["versus_reference"] = _comparison(reference_gff, paths[f"{name}_gff"], fasta)
    with atomic_output(paths["report_json"]) as tmp:
        tmp.write_text(json.dumps(report, indent=1, default=str))
    with atomic_output(paths["report"]) as tmp:
        tmp.write_text(format_report(report))
    return {"genes_base": report["models"]["base"]["genes"], "genes_tuned": report["models"]["tuned"]["genes"]}


def format_report(report: dict) -> str:
    def f(value, digits=4):
        return "n/a" if value is None else (f"{value:.{digits}f}" if isinstance(value, float) else str(value))

    base, tuned = report["models"]["base"], report["models"]["tuned"]
    pl = report["pseudolabels"]
    lines = [f"# self-train report: {report['species']}", "",
             f"Genome: `{report['fasta']}`; fine-tune mode: {report['fine_tune_mode']}.", "",
             f"Pseudolabels: {pl['kept']} of {pl['subsequences']} subsequences kept "
             f"({pl['training_rows']} training, {pl['validation_rows']} validation); "
             f"{100 * (pl['genic_fraction_kept'] or 0):.1f}% of their labelled bases genic; mean discrepancy "
             f"{f(pl['discrepancy_mean_kept'])} kept vs {f(pl['discrepancy_mean_all'])} all."
             + (" " + describe({"genes": pl["decoded_genes"], "genes_masked": pl["implausible_genes_masked"],
                                "introns_relabelled_cds": pl["introns_relabelled_cds"],
                                "introns_masked": pl["introns_masked"]}, reasons=False) + "."
                if pl.get("implausible_genes_masked") is not None else ""), "",
             "| | base model | tuned model |", "|---|---|---|",
             f"| genes | {base['genes']} | {tuned['genes']} |",
             f"| mean highest class probability | {f(base['confidence']['mean_max_probability'])} | "
             f"{f(tuned['confidence']['mean_max_probability'])} |",
             f"| bases with highest probability >= 0.9 | {f(base['confidence']['share_above_0.9'])} | "
             f"{f(tuned['confidence']['share_above_0.9'])} |",
             f"| bases with highest probability < 0.6 | {f(base['confidence']['share_below_0.6'])} | "
             f"{f(tuned['confidence']['share_below_0.6'])} |"]
    if "versus_reference" in base:
        for key in base["versus_reference"]:
            lines.append(f"| {key.replace('_', ' ')} vs reference | {f(base['versus_reference'][key])} | "
                         f"{f(tuned['versus_reference'][key])} |")
    lines += ["", "Agreement of the tuned model's annotation with the base model's (base as reference):", ""]
    lines += [f"- {key.replace('_', ' ')}: {f(value)}" for key, value in report["agreement_tuned_vs_base"].items()]
    if "versus_reference" not in base:
        lines += ["", "No reference annotation was given (--reference-gff), so accuracy is not measured; "
                      "agreement and confidence are not accuracy."]
    lines += ["", verdict(report)]
    return "\n".join(lines) + "\n"


def verdict(report: dict) -> str:
    """One plain sentence on whether the tuned model is worth using, from what the report can tell."""
    base, tuned = report["models"]["base"], report["models"]["tuned"]
    if tuned["genes"] < max(1, base["genes"] // 10):
        return (f"Verdict: the tuned model finds {tuned['genes']} genes against the base model's {base['genes']}; "
                "its training did not converge (confidence fell). Do not use it: train longer (--epochs), with a "
                "higher --learning-rate, or keep more pseudolabels (--keep-fraction).")
    if "versus_reference" in base:
        before, after = base["versus_reference"].get("gene_f1"), tuned["versus_reference"].get("gene_f1")
        if before is not None and after is not None:
            change = ("improved" if after > before + 0.005 else "got worse" if after < before - 0.005
                      else "is unchanged (within 0.005)")
            return f"Verdict: against the reference, gene-level F1 {change} ({before:.4f} -> {after:.4f})."
    return ("Verdict: the tuned model finds genes; without a reference annotation, check it on genes you trust "
            "before replacing the base model's annotation.")
