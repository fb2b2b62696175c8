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

The steps are data: `STEPS` lists them in order, each with its name, its key, its outputs, the function
that runs it and the check that follows it; `steps_for(options)` picks those the options need (the
coverage steps only with BAMs). A new step is a function and an entry; the runner (`pipelines/steps.py`)
numbers them and skips the complete ones.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from helixtune import h5layout
from helixtune.decode.options import DecodeOptions, resolve_adapt
from helixtune.errors import HelixtuneError, InputFileError
from helixtune.pipelines.annotate import choose_subsequence_length, default_species
from helixtune.pipelines.self_train_report import gene_count, write_report
from helixtune.pipelines.steps import StepRunner, as_summary, digest, file_identity
from helixtune.pseudolabel.plausibility import CHECKS_VERSION, clean_pseudolabels, describe


# self-train's decoder (pseudolabels and result) when none is named: the genome decoder. In the fine-tuning
# study (docs/fine-tuning-study.md) self-training on genome-decoded pseudolabels raised held-out S. pombe gene
# F1 above the base model's in every seed, where HelixerPost-decoded pseudolabels lowered it
SELF_TRAIN_DECODER = "genome"


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
    decode: DecodeOptions = field(default_factory=lambda: DecodeOptions(decoder=SELF_TRAIN_DECODER))  # hints_bam: RNA-seq intron hints (genome decoder)
    # fine-tuning
    epochs: int = 5
    patience: int = 2
    train_batch_size: int = 8
    learning_rate: float = 1e-4  # the study: 1e-3 drifts from a good base model (docs/fine-tuning-study.md)
    check_every_nth_batch: int = 1_000_000
    select_by: str = "auto"  # what picks the tuned checkpoint (train --select-by; auto: gene-f1 when tuning)
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


@dataclass
class Round:
    """What the steps of one round share: inputs, settings, file paths and the summaries of the steps so far."""

    fasta: Path
    base_model: Path
    out_dir: Path
    options: SelfTrainOptions
    species: str
    length: int
    mode: str  # the fine-tune mode
    paths: dict
    report_base: SelfTrainResult | None = None  # later rounds: the first round, whose base model the report uses
    summaries: dict = field(default_factory=dict)  # step name -> its summary

    def predict_options(self):
        from helixtune.predict.run import PredictOptions

        o = self.options
        return PredictOptions(batch_size=o.batch_size, overlap=o.overlap, device=o.device, threads=o.threads)

    def decode_key(self) -> dict:
        """The decode steps' key: the decoding options, hint BAMs by their identity."""
        key = self.options.decode.keywords()
        if "hints_bam" in key:
            key["hints_bam"] = [file_identity(path) for path in key["hints_bam"]]
        if _adapts(self):
            key["adapt"] = True  # a run decoded before the decoder adapted decodes again
        return key


@dataclass(frozen=True)
class Step:
    """One step of the loop: `run` makes the `outputs` and returns a summary; `check` (optional) reads the
    summary afterwards (whether the step ran or was complete) and stops the run when it must."""

    name: str
    key: Callable[[Round], dict]
    outputs: Callable[[Round], list]
    run: Callable[[Round], dict]
    check: Callable[[Round, dict], None] | None = None
    needs_bam: bool = False  # only with RNA-seq alignments (--bam)


# ---- the steps -------------------------------------------------------------------------------------------

def _encode(r: Round) -> dict:
    from helixtune.genome.encode import encode_fasta

    return as_summary(encode_fasta(r.fasta, r.paths["genome"], r.species, subsequence_length=r.length,
                                   threads=r.options.threads))


def _coverage_key(r: Round) -> dict:
    return {"bam": [file_identity(b) for b in r.options.bam], "strandedness": r.options.strandedness}


def _add_coverage(r: Round, h5_path: Path) -> dict:
    from helixtune.coverage import add_coverage

    options = r.options
    with h5layout.open_h5(h5_path, "r+") as h5:
        if h5layout.bam_files_spec("rnaseq").path in h5:
            names = h5layout.decode_strings(h5[h5layout.bam_files_spec("rnaseq").path][:])
            if names == [str(b) for b in options.bam]:  # killed after the rename, before the state save
                return {"tracks": len(names), "reused": True}
        for name in ("evaluation/rnaseq_coverage", "evaluation/rnaseq_spliced_coverage", "evaluation/rnaseq_meta"):
            if name in h5:  # tracks of an earlier run with other BAMs: this run's file, replaced
                del h5[name]
    summary = add_coverage(h5_path, options.bam, options.strandedness, prefix="rnaseq", threads=options.threads or 1)
    return {"tracks": summary.n_tracks_total, "reads": summary.reads_per_bam}


def _predict(r: Round, model: Path, name: str) -> dict:
    from helixtune.predict.run import predict

    return as_summary(predict(model, r.paths["genome"], r.paths[f"{name}_predictions"], r.predict_options()))


def _adapts(r: Round) -> bool:
    """Whether the genome decoder adapts its statistics to this genome (by default with bundled parameters)."""
    decode = r.options.decode
    return decode.decoder == "genome" and resolve_adapt(decode.adapt, decode.params)


def _decode(r: Round, name: str) -> dict:
    """Decode one model's predictions. When the decoder adapts, it adapts once, on the base model's first
    pass; the tuned model's predictions are decoded with those same statistics (they are the species'
    statistics, and the study measured them better there than a refit on the tuned model's own first pass)."""
    from helixtune.decode.pipeline import decode_to_gff3

    options, extra = r.options.decode, {}
    if _adapts(r):
        adapted = r.paths["decode_params"]
        if name == "base":
            adapted.unlink(missing_ok=True)  # an earlier run's, whatever this one finds
            extra["adapted_params_out"] = adapted
        else:
            options = dataclasses.replace(options, params=str(adapted) if adapted.exists() else options.params,
                                          adapt=False)
    return as_summary(decode_to_gff3(r.paths["genome"], r.paths[f"{name}_predictions"], r.paths[f"{name}_gff"],
                                     species=r.species, threads=r.options.threads, options=options, **extra))


def _tuned_decode_key(r: Round) -> dict:
    """The tuned decode's key: the decoding options and the statistics adapted on the base model's pass."""
    key = r.decode_key()
    if _adapts(r) and r.paths["decode_params"].exists():
        key["adapted_params"] = file_identity(r.paths["decode_params"])
    return key


def _gate_genes(r: Round, decoded: dict) -> None:
    genes = int(decoded.get("genes", gene_count(r.paths["base_gff"])))
    if genes < r.options.min_genes and not r.options.allow_degenerate_labels:
        raise DegenerateLabels(f"{r.paths['base_gff']}: the base model's predictions decode to {genes} gene(s) "
                               f"(fewer than {r.options.min_genes}); pseudolabels would be all intergenic. Try "
                               "another base model or lower --peak-threshold; --allow-degenerate-labels goes on "
                               "anyway")


def _import_export(r: Round) -> dict:
    from helixtune.annotation.pipeline import gff_to_h5

    paths = r.paths
    imported, exported = gff_to_h5(paths["base_gff"], r.fasta, paths["labels"], r.species,
                                   subsequence_length=r.length)
    summary = {"import": as_summary(imported), "export": as_summary(exported)}
    if r.options.mask_implausible_genes:  # in place, like add-coverage: an interrupted step is redone whole
        summary["checks"] = as_summary(clean_pseudolabels(paths["labels"], paths["base_gff"], r.fasta))
    return summary


def _describe_checks(r: Round, pseudolabels: dict) -> None:
    if pseudolabels.get("checks"):
        _log(describe(pseudolabels["checks"]))


def _select(r: Round) -> dict:
    from helixtune.pseudolabel.select import select_confident

    paths = r.paths
    return as_summary(select_confident(paths["labels"], paths["base_predictions"], paths["confident"],
                                       r.options.keep_fraction, genome_h5=paths["genome"],
                                       plot_path=paths["selection_plot"]))


def _gate_genic_fraction(r: Round, selection: dict) -> None:
    o = r.options
    genic = float(selection.get("genic_fraction_kept", 0.0))
    if not o.allow_degenerate_labels and not (o.min_genic_fraction <= genic <= o.max_genic_fraction):
        raise DegenerateLabels(f"{r.paths['confident']}: {100 * genic:.2f}% of the selected pseudolabelled bases "
                               f"are genic, outside [{100 * o.min_genic_fraction:g}%, "
                               f"{100 * o.max_genic_fraction:g}%]; the pseudolabels look degenerate "
                               "(--allow-degenerate-labels goes on anyway)")


def _split_outputs(r: Round) -> list:
    return [r.paths["data"] / "training_data.h5", r.paths["data"] / "validation_data.h5"]


def _split(r: Round) -> dict:
    from helixtune.pseudolabel.split import split

    o = r.options
    return as_summary(split(r.paths["confident"], f"{r.paths['data']}/", val_fraction=o.val_fraction, seed=o.seed,
                            region_bp=o.region_bp))


def _gate_validation(r: Round, split_summary: dict) -> None:
    if int(split_summary.get("validation_rows", 0)) == 0:
        raise DegenerateLabels(f"{_split_outputs(r)[1]}: no validation subsequences; keep more (--keep-fraction) or "
                               "use a smaller --region-bp")


def _gene_check_decoder(r: Round) -> tuple[str, object]:
    """The decoder of the tuning's gene-level checks and its parameters (a file, a DecodeParams or None):
    self-train's own, with the statistics it adapted on the base model's pass, so that the checks score the
    genes this run will write."""
    decode = r.options.decode
    if decode.decoder != "genome":
        return decode.decoder, None
    if _adapts(r) and r.paths["decode_params"].exists():
        return "genome", str(r.paths["decode_params"])
    return "genome", decode.params


def _fine_tune_key(r: Round) -> dict:
    from helixtune.decode.params import DecodeParams

    o = r.options
    decoder, params = _gene_check_decoder(r)
    params_key = None if params is None else digest(params.to_json()) if isinstance(params, DecodeParams) \
        else file_identity(params)
    return {"mode": r.mode, "epochs": o.epochs, "patience": o.patience, "batch": o.train_batch_size,
            "lr": o.learning_rate, "check_every": o.check_every_nth_batch, "select_by": o.select_by,
            "max_time": o.max_time, "max_steps": o.max_steps, "gene_check": [decoder, params_key]}


def _fine_tune(r: Round) -> dict:
    """Resumes from its own checkpoint when interrupted."""
    from helixtune.train.config import TrainConfig
    from helixtune.train.run import train_model

    from helixtune.decode.params import DecodeParams

    o, paths, mode = r.options, r.paths, r.mode
    gene_check_decoder, gene_check_params = _gene_check_decoder(r)
    if isinstance(gene_check_params, DecodeParams):  # the check, like the run's config, reads a file
        given = paths["data"].parent / "decode_params.json"
        gene_check_params.save(given)
        gene_check_params = str(given)
    config = TrainConfig(data_dir=str(paths["data"]), save_model_path=str(paths["tuned_model"]),
                         load_model_path=str(r.base_model), fine_tune_mode=mode,
                         input_coverage=mode == "coverage", coverage_norm=o.coverage_norm if mode == "coverage"
                         else None, epochs=o.epochs, patience=o.patience,
                         batch_size=o.train_batch_size, val_test_batch_size=o.batch_size,
                         learning_rate=o.learning_rate, check_every_nth_batch=o.check_every_nth_batch,
                         select_by=o.select_by, gene_check_decoder=gene_check_decoder,
                         gene_check_params=gene_check_params, max_time=o.max_time, max_steps=o.max_steps,
                         seed=o.seed, accelerator="cpu" if o.device == "cpu" else "auto",
                         allow_degenerate_labels=o.allow_degenerate_labels,
                         min_genic_fraction=o.min_genic_fraction,
                         # pseudolabels are the decoder's own genes: their statistics are the adapted ones it
                         # decoded them with, and annotate adapts to the genome afresh
                         decoder_statistics="no",
                         # never: the base model's genes are the pseudolabels, scored against them it would win
                         check_starting_model="no",
                         command=f"helixtune self-train --fasta {r.fasta} --load-model-path {r.base_model} "
                                 f"--out {r.out_dir}")
    paths["tuned_model"].parent.mkdir(parents=True, exist_ok=True)
    return {"model": str(train_model(config))}


def _report_paths(r: Round) -> dict:
    paths = dict(r.paths)
    if r.report_base is not None:  # later rounds: the first base model against this round's tuned model
        paths["base_gff"] = Path(r.report_base.base_gff)
        paths["base_predictions"] = Path(r.report_base.base_predictions)
    return paths


def _reference(r: Round) -> str | None:
    return str(Path(r.options.reference_gff).resolve()) if r.options.reference_gff else None


def _report(r: Round) -> dict:
    checks = r.summaries["import + export pseudolabels"].get("checks")
    return write_report(_report_paths(r), r.fasta, r.species, r.mode, r.summaries["select-confident"],
                        r.summaries["split"], _reference(r), checks, decoder=_decoder_words(r))


def _decoder_words(r: Round) -> str:
    """The decoder of both models' genes, for the report: its name and, when it adapted, on what."""
    decoded = r.summaries.get("decode (base model)") or {}
    adapted = decoded.get("adapted") or ""
    return r.options.decode.decoder + (f" (statistics {adapted}, used for both models)"
                                       if adapted.startswith("refitted") else f" ({adapted})" if adapted else "")


STEPS = (
    Step("encode", lambda r: {"fasta": file_identity(r.fasta), "species": r.species, "length": r.length},
         lambda r: [r.paths["genome"]], _encode),
    Step("add-coverage (genome)", _coverage_key, lambda r: [r.paths["genome"]],
         lambda r: _add_coverage(r, r.paths["genome"]), needs_bam=True),
    Step("predict (base model)", lambda r: {"model": file_identity(r.base_model), "overlap": r.options.overlap},
         lambda r: [r.paths["base_predictions"]], lambda r: _predict(r, r.base_model, "base")),
    Step("decode (base model)", Round.decode_key, lambda r: [r.paths["base_gff"]], lambda r: _decode(r, "base"),
         check=_gate_genes),
    Step("import + export pseudolabels",
         lambda r: {"length": r.length, "mask_implausible_genes": r.options.mask_implausible_genes,
                    "checks": CHECKS_VERSION},
         lambda r: [r.paths["labels"]], _import_export, check=_describe_checks),
    Step("add-coverage (pseudolabels)", _coverage_key, lambda r: [r.paths["labels"]],
         lambda r: _add_coverage(r, r.paths["labels"]), needs_bam=True),
    Step("select-confident", lambda r: {"keep_fraction": r.options.keep_fraction},
         lambda r: [r.paths["confident"]], _select, check=_gate_genic_fraction),
    Step("split", lambda r: {"val_fraction": r.options.val_fraction, "seed": r.options.seed,
                             "region_bp": r.options.region_bp},
         _split_outputs, _split, check=_gate_validation),
    Step("fine-tune", _fine_tune_key, lambda r: [r.paths["tuned_model"]], _fine_tune),
    Step("predict (tuned model)", lambda r: {"overlap": r.options.overlap}, lambda r: [r.paths["tuned_predictions"]],
         lambda r: _predict(r, r.paths["tuned_model"], "tuned")),
    Step("decode (tuned model)", _tuned_decode_key, lambda r: [r.paths["tuned_gff"]], lambda r: _decode(r, "tuned")),
    Step("report", lambda r: {"reference": file_identity(_reference(r)) if _reference(r) else None,
                              "base": file_identity(_report_paths(r)["base_gff"])},
         lambda r: [r.paths["report"], r.paths["report_json"]], _report),
)


def steps_for(options: SelfTrainOptions) -> list[Step]:
    """The steps a run with `options` goes through, in order."""
    return [step for step in STEPS if options.bam or not step.needs_bam]


# ---- the loop --------------------------------------------------------------------------------------------

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
    base model with the last tuned model; the result names the last round's files. The rounds stop early,
    keeping the previous round as the result, when a round's pseudolabels look degenerate or its model is
    drifting (`DRIFT_UNCERTAIN_RATIO`). `<out_dir>/result.json` names the result's files.
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
            candidate = _self_train_round(fasta, result.tuned_model, Path(out_dir) / f"round{k}", options,
                                          label=f"round {k} ", report_base=first)
        except DegenerateLabels as stop:  # the drift self-training can fall into: keep the last good round
            _log(f"round {k} stopped, its pseudolabels look degenerate ({stop}); the result is round {k - 1}'s")
            break
        skipped += [f"round {k}: {name}" for name in candidate.skipped_steps]
        ran += [f"round {k}: {name}" for name in candidate.run_steps]
        drift = _confidence_drift(result, candidate)
        if drift:
            _log(f"round {k} stopped, its model is drifting ({drift}); the result is round {k - 1}'s")
            break
        result = candidate
    result = dataclasses.replace(result, base_gff=first.base_gff, base_predictions=first.base_predictions,
                                 skipped_steps=skipped, run_steps=ran)
    _write_result(out_dir, result)
    return result


# a round whose tuned model leaves this many times the previous round's share of uncertain bases (highest class
# probability below 0.6) is drifting: in the fine-tuning study the second of three rounds tripled that share
# (0.096 -> 0.297) and its held-out gene F1 fell from 0.666 to 0.395, the third to 0.035
DRIFT_UNCERTAIN_RATIO = 2.0


def _uncertain_share(result: SelfTrainResult) -> float:
    import json

    report = json.loads(Path(result.report).with_suffix(".json").read_text(encoding="utf-8"))
    return float(report["models"]["tuned"]["confidence"]["share_below_0.6"])


def _confidence_drift(previous: SelfTrainResult, candidate: SelfTrainResult) -> str:
    """Why `candidate`'s round is drifting ("" when it is not)."""
    before, after = _uncertain_share(previous), _uncertain_share(candidate)
    if after > DRIFT_UNCERTAIN_RATIO * max(before, 1e-6):
        return (f"{after:.1%} of its bases have a highest class probability below 0.6, against {before:.1%} for "
                f"the previous round's model")
    return ""


def _write_result(out_dir, result: SelfTrainResult) -> None:
    """`<out>/result.json`: which files are the run's result (with rounds, the last round kept)."""
    import json

    from helixtune.atomic import atomic_output

    with atomic_output(Path(out_dir) / "result.json") as tmp:
        Path(tmp).write_text(json.dumps(dataclasses.asdict(result), indent=1) + "\n", encoding="utf-8")


def _round_paths(out_dir: Path) -> dict:
    return {
        "genome": out_dir / "genome.h5",
        "base_predictions": out_dir / "base" / "predictions.h5",
        "base_gff": out_dir / "base" / "annotation.gff3",
        "decode_params": out_dir / "base" / "decode_params.adapted.json",
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


def _prepare_round(fasta, base_model, out_dir, options: SelfTrainOptions,
                   report_base: SelfTrainResult | None) -> Round:
    """Check the inputs and options, and settle what the steps need: species, subsequence length, mode, paths."""
    from helixtune.model.loading import open_model

    fasta, base_model, out_dir = Path(fasta).resolve(), Path(base_model).resolve(), Path(out_dir).resolve()
    if not fasta.is_file():
        raise InputFileError(fasta, "no such file")
    if options.bam and not options.strandedness:
        raise HelixtuneError("--bam needs one of --second-read-is-sense-strand, --first-read-is-sense-strand, "
                             "--unstranded")
    if options.bam:
        options.bam = [str(Path(b).resolve()) for b in options.bam]
    if options.decode.hints_bam:
        if options.decode.decoder != "genome":
            raise HelixtuneError("intron hints from RNA-seq (--hints-bam) need the genome decoder (--decoder genome)")
        options.decode.hints_bam = [str(Path(b).resolve()) for b in options.decode.hints_bam]
        for bam in options.decode.hints_bam:
            if not Path(bam).is_file():
                raise InputFileError(bam, "no such file (--hints-bam)")
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
    return Round(fasta, base_model, out_dir, options, species, length, mode, _round_paths(out_dir),
                 report_base=report_base)


def _self_train_round(fasta, base_model, out_dir, options: SelfTrainOptions, label: str = "",
                      report_base: SelfTrainResult | None = None) -> SelfTrainResult:
    """One pass of the loop; `report_base`: the first round, whose base model the report compares with."""
    r = _prepare_round(fasta, base_model, out_dir, options, report_base)
    steps = steps_for(options)
    runner = StepRunner(r.out_dir, len(steps), label)
    for step in steps:
        summary = runner.step(step.name, step.key(r), step.outputs(r), lambda step=step: step.run(r))
        r.summaries[step.name] = summary
        if step.check is not None:
            step.check(r, summary)
    paths = r.paths
    _log(f"done: tuned model {paths['tuned_model']}, annotation {paths['tuned_gff']}, report {paths['report']}")
    return SelfTrainResult(str(r.out_dir), str(paths["tuned_model"]), str(paths["base_gff"]), str(paths["tuned_gff"]),
                           str(paths["report"]), runner.skipped, runner.ran, str(paths["base_predictions"]))
