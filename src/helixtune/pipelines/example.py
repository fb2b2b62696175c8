"""`helixtune self-train --example`: the quickstart on data shipped with the package.

Self-trains the bundled base model on the bundled piece of the S. pombe genome (three pieces of
chromosome I, 300 kbp, separate FASTA records so the split can keep whole sequences apart) and scores
the base and the tuned model against the bundled reference annotation. The reference is used only for
that final comparison: training sees nothing but the base model's own most confident predictions.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from helixtune.decode.options import DecodeOptions
from helixtune.genome.lengths import LINEAGE_SUBSEQUENCE_LENGTHS
from helixtune.pipelines.self_train import SELF_TRAIN_DECODER, SelfTrainOptions, SelfTrainResult

# Settings that make the loop finish in a minute on a laptop CPU and suit the bundled model:
# * the fungal subsequence length (21384 bp), the length the bundled model was trained on (its BiLSTMs see the
#   same context);
#   300 kbp give 30 of them (both strands), half of which are kept as confident;
# * self-train's own defaults for the rest: the genome decoder, the pseudolabel checks, learning rate 1e-4 for
#   5 epochs over the whole network (a dozen steps on this piece), checkpoints chosen by decoded gene F1.
EXAMPLE_SUBSEQUENCE_LENGTH = LINEAGE_SUBSEQUENCE_LENGTHS["fungi"]
EXAMPLE_KEEP_FRACTION = SelfTrainOptions.keep_fraction
EXAMPLE_PEAK_THRESHOLD = DecodeOptions.peak_threshold
EXAMPLE_LEARNING_RATE = SelfTrainOptions.learning_rate
EXAMPLE_EPOCHS = SelfTrainOptions.epochs
EXAMPLE_SPECIES = "Spombe"


def example_options(**overrides) -> SelfTrainOptions:
    """SelfTrainOptions of the example run; keyword arguments override single fields."""
    options = SelfTrainOptions(species=EXAMPLE_SPECIES, subsequence_length=EXAMPLE_SUBSEQUENCE_LENGTH,
                               keep_fraction=EXAMPLE_KEEP_FRACTION, epochs=EXAMPLE_EPOCHS,
                               learning_rate=EXAMPLE_LEARNING_RATE,
                               decode=DecodeOptions(peak_threshold=EXAMPLE_PEAK_THRESHOLD,
                                                    decoder=SELF_TRAIN_DECODER))
    for name, value in overrides.items():
        if not hasattr(options, name):
            raise TypeError(f"SelfTrainOptions has no field '{name}'")
        setattr(options, name, value)
    return options


@dataclass
class ExampleResult:
    run: SelfTrainResult
    fasta: str
    reference_gff: str
    header: str  # what was run on what, one paragraph
    table: str  # the before/after comparison, ready to print
    verdict: str
    scores: dict  # {"reference": {...}, "base": {...}, "tuned": {...}}
    training_log: str  # the fine-tuning step's per-check tables (stdout of the loop)


def example_inputs(out_dir) -> tuple[Path, Path]:
    """The bundled FASTA (read in place) and a plain-text copy of its reference GFF3 in `out_dir`."""
    from helixtune.atomic import atomic_output
    from helixtune.data import SPOMBE_EXAMPLE_FASTA, SPOMBE_EXAMPLE_GFF3, example_path

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    reference = out_dir / "reference.gff3"
    if not reference.exists():
        with gzip.open(example_path(SPOMBE_EXAMPLE_GFF3), "rb") as source, atomic_output(reference) as tmp:
            with open(tmp, "wb") as target:
                shutil.copyfileobj(source, target)
    return example_path(SPOMBE_EXAMPLE_FASTA), reference


def _reference_gene_count(gff3) -> int:
    with open(gff3, encoding="utf-8") as handle:
        return sum(1 for line in handle if line.count("\t") >= 8 and line.split("\t")[2] == "gene")


ROWS = (("genes", "genes (reference: {reference})"),
        ("genic_f1_basewise", "genic F1, base-wise"),
        ("cds_exon_f1", "CDS-exon F1"),
        ("intron_f1", "intron F1"),
        ("gene_f1", "gene F1"))


def comparison_table(scores: dict) -> str:
    """A plain-text before/after table: one row per measure, base | tuned | change."""
    lines = [f"{'':34} {'base':>8} {'tuned':>8} {'change':>8}"]
    for key, title in ROWS:
        base, tuned = scores["base"].get(key), scores["tuned"].get(key)
        title = title.format(reference=scores["reference"]["genes"])
        if base is None or tuned is None:
            lines.append(f"{title:34} {'n/a':>8} {'n/a':>8}")
        elif key == "genes":
            lines.append(f"{title:34} {base:8d} {tuned:8d} {tuned - base:+8d}")
        else:
            lines.append(f"{title:34} {base:8.4f} {tuned:8.4f} {tuned - base:+8.4f}")
    return "\n".join(lines)


def example_verdict(scores: dict) -> str:
    """Says plainly whether tuning helped on this piece, from genic F1 and gene F1 against the reference."""
    base, tuned = scores["base"], scores["tuned"]
    changes = {name: tuned[key] - base[key] for key, name in (("genic_f1_basewise", "genic F1"),
                                                              ("gene_f1", "gene F1"))}
    better = [name for name, change in changes.items() if change > 0.005]
    worse = [name for name, change in changes.items() if change < -0.005]
    described = ", ".join(f"{name} {base[key]:.3f} -> {tuned[key]:.3f}" for key, name in
                          (("genic_f1_basewise", "genic F1"), ("gene_f1", "gene F1")))
    unchanged = [name for name in changes if name not in better and name not in worse]
    same = f"; {' and '.join(unchanged)} unchanged (within 0.005)" if unchanged else ""
    if better and not worse:
        return (f"Verdict: self-training improved {' and '.join(better)} on this piece{same} ({described}), "
                "with no reference labels used.")
    if worse and not better:
        return f"Verdict: self-training did NOT help on this piece; {' and '.join(worse)} got worse{same} ({described})."
    if better and worse:
        return f"Verdict: mixed result: {', '.join(better)} improved, {', '.join(worse)} got worse ({described})."
    return f"Verdict: self-training changed nothing that matters on this piece ({described})."


def run_example(out_dir, model="bundled", options: SelfTrainOptions | None = None) -> ExampleResult:
    """Self-train `model` (default: the bundled base model) on the bundled S. pombe piece; compare."""
    from helixtune.data import resolve_model_path
    from helixtune.pipelines.self_train import self_train

    fasta, reference = example_inputs(out_dir)
    options = options or example_options()
    options.reference_gff = str(reference)  # read by the report step only, after training
    # the loop prints training's per-check tables on stdout: kept in a log so the comparison stands out
    log_path = Path(out_dir).resolve() / "self_train.log"
    with open(log_path, "a", encoding="utf-8") as log, contextlib.redirect_stdout(log):
        result = self_train(fasta, resolve_model_path(model), out_dir, options)
    report = json.loads((Path(result.out_dir) / "report.json").read_text())
    scores = {"reference": {"genes": _reference_gene_count(reference)}}
    for name in ("base", "tuned"):
        entry = report["models"][name]
        scores[name] = {"genes": int(entry["genes"]), **entry["versus_reference"]}
    records, bases = _fasta_size(fasta)
    header = (f"Self-training of {Path(resolve_model_path(model)).name} on the bundled S. pombe piece ({records} "
              f"records, {bases:,} bp), {report['pseudolabels']['kept']} of {report['pseudolabels']['subsequences']}"
              f" pseudolabelled subsequences kept;\nboth models scored against the piece's reference annotation, "
              f"which training never saw.")
    return ExampleResult(result, str(fasta), str(reference), header, comparison_table(scores),
                         example_verdict(scores), scores, str(log_path))


def _fasta_size(fasta) -> tuple[int, int]:
    from helixtune.genome.fasta import iter_fasta

    records = bases = 0
    for _, sequence in iter_fasta(fasta):
        records, bases = records + 1, bases + len(sequence)
    return records, bases
