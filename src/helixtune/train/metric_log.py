"""The run's record of its checks: one row per check, written to metrics.csv, learning_curves.png, TensorBoard.

The rows live in the run's state (and so in last.ckpt); every check rewrites metrics.csv from all of them,
so after a kill and resume the file holds exactly the checks of the state that went on. Each check also
prints one progress line on stderr (`-v`: upstream's full tables on stdout).
"""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

CSV_COLUMNS = ["check", "epoch", "batch", "step", "time_s", "cpu_s", "train_loss", "genic_precision", "genic_recall",
               "genic_f1", "sub_genic_f1", "legacy_cds_f1", "ig_f1", "utr_f1", "exon_f1", "intron_f1",
               "accuracy", "phase_f1", "phase_0_f1", "phase_1_f1", "phase_2_f1", "no_phase_f1", "cds_exon_f1",
               "gene_f1", "predicted_genes", "gene_check_s", "select_by", "score", "best_score",
               "improved", "checks_without_improvement"]


class MetricWriter:
    def __init__(self, run_dir: Path, patience: int, verbose: bool = True):
        self.run_dir = Path(run_dir)
        self.patience = patience
        self.verbose = verbose
        self.history: list[dict] = []
        self.loss_sum = 0.0  # training loss since the last check (for the learning curves)
        self.loss_batches = 0

    @property
    def csv_path(self) -> Path:
        return self.run_dir / "metrics.csv"

    @property
    def png_path(self) -> Path:
        return self.run_dir / "learning_curves.png"

    @property
    def next_check(self) -> int:
        return len(self.history) + 1

    def add_loss(self, loss) -> None:
        if loss is not None:
            self.loss_sum += float(loss.detach())
            self.loss_batches += 1

    def take_train_loss(self) -> float:
        mean = self.loss_sum / self.loss_batches if self.loss_batches else float("nan")
        self.loss_sum, self.loss_batches = 0.0, 0
        return mean

    def add_check(self, where: dict, result, selection, improved: bool) -> dict:
        """Append the row of a check: `where` (epoch, batch, step, time_s, cpu_s), its result, the selection."""
        metrics = result.metrics
        genic = metrics.genic.scores()
        row = {"check": self.next_check, **where,
               "train_loss": self.take_train_loss(),
               "genic_precision": genic["genic"]["precision"], "genic_recall": genic["genic"]["recall"],
               "genic_f1": genic["genic"]["f1"], "sub_genic_f1": genic["sub_genic"]["f1"],
               "legacy_cds_f1": genic["legacy_cds"]["f1"], "ig_f1": genic["ig"]["f1"], "utr_f1": genic["utr"]["f1"],
               "exon_f1": genic["exon"]["f1"], "intron_f1": genic["intron"]["f1"],
               "accuracy": metrics.genic.accuracy(), "improved": int(improved),
               "checks_without_improvement": selection.checks_without_improvement}
        if metrics.has_phase:
            phase = metrics.phase.scores()
            row.update(phase_f1=metrics.phase_f1, phase_0_f1=phase["phase_0"]["f1"],
                       phase_1_f1=phase["phase_1"]["f1"], phase_2_f1=phase["phase_2"]["f1"],
                       no_phase_f1=phase["no_phase"]["f1"])
        row = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        row.update(select_by=selection.select_by, score=result.score, best_score=selection.best_score)
        genes = result.genes
        if genes is not None:
            row.update(cds_exon_f1=genes["cds_exon_f1"], gene_f1=genes["gene_f1"], predicted_genes=genes["genes"],
                       gene_check_s=genes["seconds"])
            row.update({k: v for k, v in genes.items() if k.startswith("gene_f1_")})  # per validation file
        self.history.append(row)
        return row

    def report(self, metrics, row) -> None:
        """The progress line (and -v tables) of a check; metrics.csv, the curves and TensorBoard updated."""
        if self.verbose:
            print(f"\ncheck {row['check']} (epoch {row['epoch']}, batch {row['batch']}, step {row['step']})",
                  flush=True)
            print(metrics.format_tables(), flush=True)
        mark = "new best, saved" if row["improved"] else f"no improvement ({row['checks_without_improvement']}/" \
                                                          f"{self.patience})"
        loss = row["train_loss"]
        loss_text = "n/a" if loss is None else f"{loss:.4f}"
        print(f"check {row['check']}: epoch {row['epoch']} batch {row['batch']} step {row['step']}: "
              f"train loss {loss_text}, validation genic F1 {row['genic_f1']:.4f}"
              + ("" if row["select_by"] == "genic-f1" else f", {row['select_by']} {row['score']:.4f}")
              + (" (mean over validation files)" if any(k.startswith("gene_f1_") for k in row) else "")
              + (f" ({row['predicted_genes']} genes, check {row['gene_check_s']:.0f} s)" if "gene_f1" in row else "")
              + f" (best {row['best_score']:.4f}): {mark}", file=sys.stderr, flush=True)  # progress: stderr
        write_history_csv(self.history, self.csv_path)
        try:
            plot_learning_curves(self.history, self.png_path)
        except Exception as err:  # a plot must never stop a training run
            print(f"warning: could not draw {self.png_path}: {err}", file=sys.stderr)
        _tensorboard_log(self.run_dir / "tensorboard", row)

    def state_dict(self) -> dict:
        return {"history": self.history, "loss_sum": self.loss_sum, "loss_batches": self.loss_batches}

    def load_state_dict(self, state: dict) -> None:
        self.history = list(state["history"])
        self.loss_sum = float(state.get("loss_sum", 0.0))
        self.loss_batches = int(state.get("loss_batches", 0))


def write_history_csv(history: list[dict], path: Path) -> None:
    from helixtune.atomic import atomic_output

    with atomic_output(path) as tmp:
        with open(tmp, "w", newline="") as handle:
            # then each validation file's gene F1 where the checks scored files apart (--gene-check-average)
            columns = CSV_COLUMNS + list(dict.fromkeys(k for row in history for k in row if k.startswith("gene_f1_")))
            writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            for row in history:
                writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in columns})


def plot_learning_curves(history: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from helixtune.atomic import atomic_output

    steps = [r["step"] for r in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    losses = [(s, r["train_loss"]) for s, r in zip(steps, history) if r.get("train_loss") is not None]
    if losses:
        ax1.plot(*zip(*losses), marker="o")
    ax1.set_xlabel("optimizer step")
    ax1.set_ylabel("training loss (mean since previous check)")
    ax1.set_title("training loss")
    for key, label in (("genic_f1", "genic F1"), ("sub_genic_f1", "sub-genic F1"), ("phase_f1", "phase F1")):
        points = [(s, r[key]) for s, r in zip(steps, history) if r.get(key) is not None]
        if points:
            ax2.plot(*zip(*points), marker="o", label=label)
    ax2.set_xlabel("optimizer step")
    ax2.set_ylabel("validation score")
    ax2.set_ylim(0, 1)
    ax2.set_title("validation (base-wise)")
    ax2.legend(loc="best")
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


_TB_WRITERS = {}


def _tensorboard_log(directory: Path, row: dict) -> None:
    """Scalars to TensorBoard when the `tensorboard` package is installed (optional)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except Exception:
        return
    writer = _TB_WRITERS.get(directory)
    if writer is None:
        writer = _TB_WRITERS[directory] = SummaryWriter(str(directory))
    for key in ("train_loss", "genic_f1", "sub_genic_f1", "phase_f1", "accuracy"):
        if row.get(key) is not None:
            writer.add_scalar(key, row[key], row["step"])
    writer.flush()
