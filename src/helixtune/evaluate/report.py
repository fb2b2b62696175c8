"""The HTML report of `helixtune evaluate --report DIR`: tables, plots and a few loci, browser style.

DIR receives `report.html`, `metrics.json` and the PNG plots it shows:
`scores.png` (base-wise per-class and feature-level bars), `confusion.png` (row-normalised genic and
phase matrices), `lengths.png` (CDS exon, intron and coding lengths, reference vs prediction) and
`locus_<n>.png` (reference and predicted gene models, class probabilities and RNA-seq coverage
where available).
"""

from __future__ import annotations

import html
import json
import math
import os
from pathlib import Path

import numpy as np

from helixtune import h5layout
from helixtune.atomic import atomic_output
from helixtune.evaluate.compare import evaluate, json_ready
from helixtune.evaluate.features import matched_transcripts
from helixtune.evaluate.sanity import length_distributions
from helixtune.evaluate.tracks import window_from_h5

CLASS_COLOURS = {"ig": "#bbbbbb", "utr": "#4c9be8", "exon": "#d9534f", "intron": "#5cb85c"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(fig)


def plot_scores(result: dict, path: Path) -> None:
    plt = _pyplot()
    panels = 2 if result["features"] else 1
    fig, axes = plt.subplots(1, panels, figsize=(6.5 * panels, 3.8), squeeze=False)
    scores = result["basewise"]["genic_base_wise"]["scores"]
    names = ["ig", "utr", "exon", "intron", "sub_genic", "genic"]
    x = np.arange(len(names))
    for i, (key, label) in enumerate((("precision", "precision"), ("recall", "recall"), ("f1", "F1"))):
        axes[0, 0].bar(x + (i - 1) * 0.27, [scores[n][key] for n in names], width=0.27, label=label)
    axes[0, 0].set_xticks(x, ["intergenic", "UTR", "CDS", "intron", "CDS+intron", "genic"], rotation=20)
    axes[0, 0].set_ylim(0, 1.05)
    axes[0, 0].set_title("base-wise")
    axes[0, 0].legend(fontsize=8, loc="lower left")
    if result["features"]:
        levels = list(result["features"])
        x = np.arange(len(levels))
        for i, (key, label) in enumerate((("sensitivity", "sensitivity"), ("precision", "precision"), ("f1", "F1"))):
            axes[0, 1].bar(x + (i - 1) * 0.27, [result["features"][lv][key] for lv in levels], width=0.27, label=label)
        axes[0, 1].set_xticks(x, [lv.replace("_", " ") for lv in levels], rotation=20)
        axes[0, 1].set_ylim(0, 1.05)
        axes[0, 1].set_title("feature level (coding)")
        axes[0, 1].legend(fontsize=8, loc="lower left")
    _save(fig, path)


def plot_confusion(result: dict, path: Path) -> None:
    plt = _pyplot()
    keys = [k for k in ("genic_base_wise", "phase_base_wise") if k in result["basewise"]]
    fig, axes = plt.subplots(1, len(keys), figsize=(4.6 * len(keys), 3.8), squeeze=False)
    for ax, key in zip(axes[0], keys):
        cm = np.array(result["basewise"][key]["confusion_matrix"], dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            norm = cm / cm.sum(axis=1, keepdims=True)
        ax.imshow(np.nan_to_num(norm), vmin=0, vmax=1, cmap="Blues")
        names = result["basewise"][key]["classes"]
        ax.set_xticks(range(len(names)), names, rotation=30)
        ax.set_yticks(range(len(names)), names)
        ax.set_xlabel("prediction")
        ax.set_ylabel("reference")
        for (r, c), v in np.ndenumerate(norm):
            if not math.isnan(v):
                ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=8,
                        color="white" if v > 0.6 else "black")
        ax.set_title(key.replace("_", " "))
    _save(fig, path)


def plot_lengths(sides: dict, path: Path) -> None:
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.5))
    for ax, key, label in zip(axes, ("cds_exon", "intron", "coding_length"),
                              ("CDS exon length (bp)", "intron length (bp)", "coding length per transcript (bp)")):
        values = {name: length_distributions(models)[key] for name, models in sides.items()}
        positive = np.concatenate([v[v > 0] for v in values.values()] + [np.array([1])])
        bins = np.logspace(0, np.log10(positive.max() + 1), 40)
        for name, v in values.items():
            ax.hist(np.clip(v, 1, None), bins=bins, histtype="step", linewidth=1.5, label=f"{name} (n={len(v)})")
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("count")
    _save(fig, path)


def choose_loci(ref_models, pred_models, n_loci: int) -> list:
    """A few loci: reference genes with and without an exact predicted match, spread along the genome."""
    if ref_models is None and pred_models is None:
        return []
    if ref_models is None or not ref_models.transcripts:
        models = pred_models
        matched = np.zeros(len(models.transcripts), bool)
    else:
        models = ref_models
        matched = (matched_transcripts(ref_models, pred_models)[0] if pred_models is not None
                   else np.zeros(len(models.transcripts), bool))
    def spread(indices, k):
        return [int(i) for i in indices[np.linspace(0, len(indices) - 1, min(k, len(indices))).astype(int)]] \
            if len(indices) and k > 0 else []

    unmatched, good = np.flatnonzero(~matched), np.flatnonzero(matched)
    picks = spread(unmatched, n_loci // 2)
    picks += spread(good, n_loci - len(picks))
    picks += spread(np.setdiff1d(unmatched, picks), n_loci - len(picks))
    loci = []
    for i in sorted(set(picks))[:n_loci]:
        t = models.transcripts[i]
        margin = max(300, (t.span[1] - t.span[0]) // 4)
        loci.append({"seqid": t.seqid, "start": max(0, min(t.span[0], t.cds_start) - margin),
                     "end": max(t.span[1], t.cds_end) + margin, "strand": t.strand, "transcript": t.id,
                     "exact_match": bool(matched[i])})
    return loci


def _draw_models(ax, models, locus, colour) -> None:
    ax.set_ylim(-1, 1)
    ax.set_yticks([])
    if models is None:
        ax.text(0.5, 0.5, "no gene models", transform=ax.transAxes, ha="center", va="center", fontsize=8)
        return
    rows = 0
    for t in models.transcripts:
        if t.seqid != locus["seqid"] or t.span[1] < locus["start"] or t.span[0] > locus["end"]:
            continue
        y = 0.45 if t.strand == "+" else -0.45
        ax.plot([min(t.span[0], t.cds_start), max(t.span[1], t.cds_end)], [y, y], color=colour, linewidth=0.8)
        for s, e in t.exons:  # UTR parts show as thin boxes under the CDS boxes
            ax.add_patch(_rect(s, y - 0.1, e - s, 0.2, colour))
        for s, e in t.cds:
            ax.add_patch(_rect(s, y - 0.25, e - s, 0.5, colour))
        ax.text(t.cds_start, y + 0.3 * (1 if y > 0 else -1.9), f"{t.id} ({t.strand})", fontsize=6)
        rows += 1


def _rect(x, y, w, h, colour):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), w, h, facecolor=colour, edgecolor="none")


def plot_locus(locus: dict, ref_models, pred_models, probabilities: dict | None, coverage: dict | None,
               path: Path) -> None:
    plt = _pyplot()
    n_tracks = 2 + (probabilities is not None) + (coverage is not None)
    fig, axes = plt.subplots(n_tracks, 1, figsize=(11, 1.2 + 1.1 * n_tracks), sharex=True,
                             gridspec_kw={"height_ratios": [1, 1] + [1.6] * (n_tracks - 2)})
    _draw_models(axes[0], ref_models, locus, "#333333")
    axes[0].set_ylabel("reference", rotation=0, ha="right", fontsize=8)
    _draw_models(axes[1], pred_models, locus, "#d9534f")
    axes[1].set_ylabel("prediction", rotation=0, ha="right", fontsize=8)
    x = np.arange(locus["start"], locus["end"])
    row = 2
    if probabilities is not None:
        ax = axes[row]
        for strand, sign in (("+", 1), ("-", -1)):
            p = probabilities.get(strand)
            if p is None:
                continue
            for c, name in enumerate(("ig", "utr", "exon", "intron")):
                if c == 0:
                    continue
                ax.plot(x, sign * p[:, c], color=CLASS_COLOURS[name], linewidth=0.8,
                        label=f"p({'CDS' if name == 'exon' else name})" if sign > 0 else None)
        ax.axhline(0, color="black", linewidth=0.4)
        ax.set_ylim(-1.05, 1.05)
        ax.set_ylabel("probability\n(+ up, − down)", rotation=0, ha="right", fontsize=8)
        ax.legend(fontsize=6, loc="upper right", ncol=3)
        row += 1
    if coverage is not None:
        ax = axes[row]
        for strand, sign in (("+", 1), ("-", -1)):
            c = coverage.get(strand)
            if c is not None:
                ax.fill_between(x, 0, sign * np.nan_to_num(np.clip(c, 0, None)), color="#777777", step="mid")
        ax.axhline(0, color="black", linewidth=0.4)
        ax.set_ylabel("RNA-seq\ncoverage", rotation=0, ha="right", fontsize=8)
    axes[-1].set_xlim(locus["start"], locus["end"])
    axes[-1].set_xlabel(f"{locus['seqid']} (0-based)")
    fig.suptitle(f"{locus['transcript']} — {'exact CDS match' if locus['exact_match'] else 'no exact CDS match'}",
                 fontsize=9)
    _save(fig, path)


def _coverage_dataset(path) -> str | None:
    with h5layout.open_h5(path) as h5:
        if "evaluation" not in h5:
            return None
        names = sorted(n for n in h5["evaluation"] if n.endswith("_coverage") and not n.endswith("spliced_coverage"))
        return f"evaluation/{names[0]}" if names else None


def _strand_windows(path, dataset, locus, coordinates=None, padding_first=False, sum_tracks=False) -> dict:
    out = {}
    for strand in ("+", "-"):
        if coordinates is not None:
            with h5layout.open_h5(coordinates) as coord:
                values = window_from_h5(path, dataset, locus["seqid"], strand, locus["start"], locus["end"],
                                        coordinates=coord, padding_first=padding_first)
        else:
            values = window_from_h5(path, dataset, locus["seqid"], strand, locus["start"], locus["end"],
                                    padding_first=padding_first)
        if values is not None and sum_tracks:
            values = np.where(values < 0, np.nan, values).sum(axis=-1)
        out[strand] = values
    return out


def _table_html(rows: list[list], header: bool = True) -> str:
    parts = ["<table>"]
    for i, row in enumerate(rows):
        tag = "th" if header and i == 0 else "td"
        parts.append("<tr>" + "".join(f"<{tag}>{html.escape(str(c))}</{tag}>" for c in row) + "</tr>")
    parts.append("</table>")
    return "\n".join(parts)


def _fmt(v, digits=4):
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _probability_source(probabilities, ref, genome_h5) -> tuple:
    """(path, coordinates h5 or None, padding first) of a predictions h5 given for the report's plots."""
    from helixtune.errors import InputFileError
    from helixtune.evaluate.compare import padded_minus_layout, recorded_test_data

    with h5layout.open_h5(probabilities) as h5:
        if h5layout.PREDICTIONS.path not in h5:
            raise InputFileError(probabilities, "has no 'predictions' dataset (--probabilities wants a predictions h5)")
        has_coordinates = h5layout.SEQIDS.path in h5 and h5layout.START_ENDS.path in h5
        padding_first = padded_minus_layout(h5) == "helixer-0.3.6"
    if has_coordinates:
        coordinates = None
    elif genome_h5 is not None:
        coordinates = str(genome_h5)
    elif ref.kind != "gff3" and ref.coordinates:
        coordinates = ref.coordinates
    elif recorded_test_data(probabilities):  # the genome file that `predict` recorded, when it still exists
        coordinates = recorded_test_data(probabilities)
    else:
        raise InputFileError(probabilities, "has no seqids/start_ends; give --genome-h5, the genome h5 the "
                                            "predictions were made from")
    return str(probabilities), coordinates, padding_first


def write_report(result: dict, report_dir, n_loci: int = 4, probabilities=None, coverage_h5=None,
                 genome_h5=None) -> Path:
    """Write DIR/report.html, DIR/metrics.json and the plots; returns the HTML path.

    The files are made in a temporary folder beside DIR and moved into DIR only when all are written, so a
    failure leaves no half-written report.
    """
    from helixtune.atomic import output_folder, scratch_folder

    final_dir = Path(report_dir)
    ref, pred, _genome = result["_sides"]
    prob_source = None  # checked before anything is written
    if pred.kind == "predictions":
        prob_source = (pred.path, pred.coordinates if pred.coordinates != pred.path else None, pred.padding_first)
    elif probabilities is not None:
        prob_source = _probability_source(probabilities, ref, genome_h5)
    if final_dir.exists() and not final_dir.is_dir():
        output_folder(final_dir)  # the one-line error for a file given as the folder
    with scratch_folder(final_dir) as report_dir:
        _write_report_files(result, report_dir, n_loci, prob_source, coverage_h5)
        output_folder(final_dir)
        for made in sorted(report_dir.iterdir()):
            os.replace(made, final_dir / made.name)
    return final_dir / "report.html"


def _write_report_files(result: dict, report_dir: Path, n_loci: int, prob_source, coverage_h5) -> None:
    ref, pred, _genome = result["_sides"]
    clean = json_ready(result)
    with atomic_output(report_dir / "metrics.json") as tmp:
        tmp.write_text(json.dumps(clean, indent=1))
    plot_scores(clean, report_dir / "scores.png")
    plot_confusion(clean, report_dir / "confusion.png")
    images = ["scores.png", "confusion.png"]
    model_sides = {name: side.models for name, side in (("reference", ref), ("prediction", pred)) if side.models}
    if model_sides:
        plot_lengths(model_sides, report_dir / "lengths.png")
        images.append("lengths.png")

    # probabilities (prob_source): the prediction itself, or a predictions h5 given for the plots
    cov_source = None
    for candidate in [coverage_h5] + [s.path for s in (ref, pred) if s.kind != "gff3"]:
        if candidate is not None and _coverage_dataset(candidate):
            cov_source = (str(candidate), _coverage_dataset(candidate))
            break
    loci = choose_loci(ref.models, pred.models, n_loci)
    locus_images = []
    for n, locus in enumerate(loci, start=1):
        probs = None
        if prob_source is not None:
            probs = _strand_windows(prob_source[0], h5layout.PREDICTIONS.path, locus, prob_source[1], prob_source[2])
        cov = _strand_windows(cov_source[0], cov_source[1], locus, sum_tracks=True) if cov_source else None
        name = f"locus_{n}.png"
        plot_locus(locus, ref.models, pred.models, probs, cov, report_dir / name)
        locus_images.append((name, locus))

    summary = clean["basewise"]["summary"]
    body = ["<h1>helixtune evaluate</h1>",
            f"<p>reference: <code>{html.escape(clean['reference']['path'])}</code> ({clean['reference']['kind']})<br>"
            f"prediction: <code>{html.escape(clean['prediction']['path'])}</code> ({clean['prediction']['kind']})<br>"
            f"sequences: {html.escape(', '.join(clean['sequences'][:20]))}"
            f"{' …' if len(clean['sequences']) > 20 else ''}</p>"]
    for name in ("reference", "prediction"):
        if "stop_codons" in clean[name]:
            body.append(f"<p>stop codons ({name}): {html.escape(clean[name]['stop_codons'])}</p>")
    body.append("<h2>Base-wise (upstream Helixer's metrics)</h2>")
    body.append(_table_html([["bases", "genic F1", "CDS F1", "intron F1", "CDS+intron F1", "phase F1", "accuracy"],
                             [summary["bases"], _fmt(summary["genic_f1"]), _fmt(summary["cds_f1"]),
                              _fmt(summary["intron_f1"]), _fmt(summary["cds_intron_f1"]), _fmt(summary["phase_f1"]),
                              _fmt(summary["accuracy"])]]))
    scores = clean["basewise"]["genic_base_wise"]["scores"]
    body.append(_table_html([["class", "TP", "FP", "FN", "precision", "recall", "F1"]] +
                            [[k, s["TP"], s["FP"], s["FN"], _fmt(s["precision"]), _fmt(s["recall"]), _fmt(s["f1"])]
                             for k, s in scores.items()]))
    if clean["features"]:
        body.append("<h2>Feature level, coding part (gffcompare-style)</h2>")
        body.append(_table_html([["level", "reference", "predicted", "sensitivity", "precision", "F1"]] +
                                [[lv, s["reference"], s["predicted"], _fmt(s["sensitivity"]), _fmt(s["precision"]),
                                  _fmt(s["f1"])] for lv, s in clean["features"].items()]))
    if clean["sanity"]:
        names = list(clean["sanity"])
        keys = list(clean["sanity"][names[0]])
        body.append("<h2>Sanity panel</h2>")
        body.append(_table_html([["check"] + names] +
                                [[k] + [_fmt(clean["sanity"][n].get(k), 3) for n in names] for k in keys]))
    body.append("<h2>Plots</h2>")
    body += [f'<p><img src="{img}" alt="{img}"></p>' for img in images]
    if locus_images:
        body.append("<h2>Loci</h2>")
        for name, locus in locus_images:
            body.append(f"<p>{html.escape(locus['seqid'])}:{locus['start'] + 1}-{locus['end']} "
                        f"({html.escape(locus['transcript'])})<br><img src=\"{name}\" alt=\"{name}\"></p>")
    else:
        body.append("<p>No loci shown: neither side has gene models.</p>")
    page = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>helixtune evaluate</title><style>"
            "body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse;margin:8px 0}"
            "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}img{max-width:100%}</style></head><body>"
            + "\n".join(body) + "</body></html>")
    out = report_dir / "report.html"
    with atomic_output(out) as tmp:
        tmp.write_text(page)


def run_evaluation(reference, prediction, fasta=None, sequences=None, genome_h5=None, stop_codons: str = "auto",
                   padded_minus: str = "auto", pool_size: int = 9, json_path=None, report_dir=None,
                   probabilities=None, coverage_h5=None, n_loci: int = 4) -> dict:
    """`evaluate`, then write the JSON (if asked) and the HTML report (if asked); returns the result."""
    result = evaluate(reference, prediction, fasta=fasta, sequences=sequences, genome_h5=genome_h5,
                      stop_codons=stop_codons, padded_minus=padded_minus, pool_size=pool_size)
    if json_path is not None:
        with atomic_output(json_path) as tmp:
            tmp.write_text(json.dumps(json_ready(result), indent=1))
    if report_dir is not None:
        result["report"] = str(write_report(result, report_dir, n_loci=n_loci, probabilities=probabilities,
                                            coverage_h5=coverage_h5, genome_h5=genome_h5))
    return result
