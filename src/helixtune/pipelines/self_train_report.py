"""self-train's report: report.json and report.md of a round.

Gene counts of the base and the tuned model, how confident each is (`prediction_confidence`), how far the
tuned model's annotation agrees with the base model's, what the pseudolabels were, and with a reference
annotation both models' accuracy; a one-sentence verdict.
"""

from __future__ import annotations

import json

import numpy as np

from helixtune import h5layout
from helixtune.atomic import atomic_output
from helixtune.pseudolabel.plausibility import describe


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


def gene_count(gff_path) -> int:
    count = 0
    with open(gff_path, encoding="utf-8") as handle:
        for line in handle:
            if not line.startswith("#"):
                parts = line.split("\t", 3)
                if len(parts) > 2 and parts[2] == "gene":
                    count += 1
    return count


def comparison(reference, prediction, fasta) -> dict:
    """A few headline numbers of `helixtune evaluate` (prediction against reference)."""
    from helixtune.evaluate.compare import evaluate

    result = evaluate(reference, prediction, fasta=fasta)
    out = {"genic_f1_basewise": result["basewise"]["genic_base_wise"]["scores"]["genic"]["f1"],
           "cds_f1_basewise": result["basewise"]["genic_base_wise"]["scores"]["exon"]["f1"]}
    for level, scores in (result.get("features") or {}).items():
        out[f"{level}_f1"] = scores["f1"]
    return out


def write_report(paths: dict, fasta, species: str, mode: str, selection: dict, split_summary: dict,
                 reference_gff=None, checks: dict | None = None, decoder: str = "") -> dict:
    """report.json and report.md: gene counts, base-vs-tuned agreement, confidence, and (optionally) accuracy.

    `checks`: the summary of the pseudolabel checks (None when they were turned off); `decoder`: how the genes
    were decoded, in words."""
    checks = checks or {}
    report = {"species": species, "fasta": str(fasta), "fine_tune_mode": mode, "decoder": decoder,
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
            "gff3": str(gff), "genes": gene_count(gff),
            "confidence": prediction_confidence(paths["genome"], paths[f"{name}_predictions"])}
    report["agreement_tuned_vs_base"] = comparison(paths["base_gff"], paths["tuned_gff"], fasta)
    if reference_gff:
        report["reference"] = str(reference_gff)
        for name in ("base", "tuned"):
            report["models"][name]["versus_reference"] = comparison(reference_gff, paths[f"{name}_gff"], fasta)
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
             f"Genome: `{report['fasta']}`; fine-tune mode: {report['fine_tune_mode']}"
             + (f"; decoder: {report['decoder']}" if report.get("decoder") else "") + ".", "",
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
