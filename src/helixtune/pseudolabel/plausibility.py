"""Clean the pseudolabels: check each decoded gene against the genome before training on it.

A decoded gene model is a pseudolabel; when the network is unsure, HelixerPost still writes a gene, often
with a spurious intron or a coding sequence that runs through a stop codon. Training on such a gene teaches
the network its own mistake. Each decoded transcript is therefore checked against the genome.

Gene checks (a gene none of whose transcripts passes them is masked: its bases get sample weight 0, so
training neither learns its structure nor learns that its bases are intergenic):

- the CDS starts with ATG and ends with a stop codon (TAA, TAG, TGA; HelixerPost's CDS includes it);
- its length is a multiple of 3 and it has no stop codon in frame before the last codon.

Intron checks (for genes that pass the gene checks; each failing intron is treated on its own):

- a splice site that is not canonical (GT..AG, GC..AG or AT..AC): the intron's borders are wrong and its
  class is unknown, so the intron is masked (sample weight 0);
- an intron that reads through: translation continued into the intron, in the frame of the CDS before it,
  would meet no stop codon inside it. A real intron nearly always holds one (86 % of the S. pombe reference
  introns do, against 56 % of the spurious introns a small base model decodes there, and the base model
  decodes four times as many introns as there are): the decoded "intron" most likely cut an open reading
  frame in two, so its bases are relabelled CDS (with no phase label: the phase there is not known).

The counts are in the summary; `--keep-implausible-genes` of `self-train` turns all checks off.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import h5py
import numpy as np

from helixtune import h5layout
from helixtune.annotation.coding_transcripts import Transcript, read_gene_models
from helixtune.genome.codons import CANONICAL_SPLICE_MOTIFS, START_CODON, STOP_CODONS, codons, reverse_complement
from helixtune.genome.fasta import iter_fasta

SEQID_BYTES = np.dtype(h5layout.SEQID_DTYPE).itemsize
NON_CANONICAL = "non-canonical splice site"
READS_THROUGH = "intron reads through (no stop codon in frame)"
CDS_ONE_HOT = (0, 0, 1, 0)  # data/y: intergenic, UTR, CDS, intron
CHECKS_VERSION = 2  # part of self-train's resume key: a run made with other checks redoes the step


@dataclass
class PlausibilitySummary:
    genes: int = 0
    genes_masked: int = 0
    reasons: dict = field(default_factory=dict)  # gene check failed first -> transcripts
    introns_masked: int = 0  # non-canonical splice site
    introns_relabelled_cds: int = 0  # reads through
    bases_masked: int = 0  # strand-bases newly given weight 0
    bases_relabelled_cds: int = 0
    rows_touched: int = 0


@dataclass
class CleaningPlan:
    """Spans (0-based, half-open genome coordinates) per (seqid as stored in h5, strand)."""
    mask: dict = field(default_factory=lambda: defaultdict(list))
    relabel_cds: dict = field(default_factory=lambda: defaultdict(list))


def implausibility(t: Transcript, sequence: bytes) -> str | None:
    """The first gene check the transcript fails, or None when it could be a real coding transcript."""
    coding = t.coding_sequence({t.seqid: sequence})
    if len(coding) % 3 != 0:
        return "length not a multiple of 3"
    if coding[:3] != START_CODON:
        return "no ATG start"
    if coding[-3:] not in STOP_CODONS:
        return "no stop codon at the end"
    if any(codon in STOP_CODONS for codon in codons(coding)[:-1]):
        return "stop codon in frame"
    return None


def intron_problems(t: Transcript, sequence: bytes) -> list[tuple[tuple[int, int], str]]:
    """((start, end), problem) of each coding intron that fails a check, in genome order."""
    problems = []
    for intron, motif, stop in zip(t.introns, t.splice_motifs(sequence), retained_intron_stops(t, sequence)):
        if motif.upper() not in CANONICAL_SPLICE_MOTIFS:
            problems.append((intron, NON_CANONICAL))
        elif not stop:
            problems.append((intron, READS_THROUGH))
    return problems


def retained_intron_stops(t: Transcript, sequence: bytes) -> list[bool]:
    """Per coding intron, in genome order (as `t.introns`): would translation continued into the intron, in
    the frame of the CDS 5' of it, meet a stop codon wholly inside the intron?"""
    lengths = [e - s for s, e in t.cds]
    out = []
    for k, (a, b) in enumerate(t.introns):
        intron = sequence[a:b].upper()
        if t.strand == "+":
            coding_before = sum(lengths[:k + 1])
        else:  # the minus strand reads from high to low coordinates
            coding_before = sum(lengths[k + 1:])
            intron = reverse_complement(intron)
        first = (3 - coding_before % 3) % 3  # the first codon that lies wholly in the intron
        out.append(any(codon in STOP_CODONS for codon in codons(intron[first:])))
    return out


def plan_cleaning(gff3, fasta) -> tuple[CleaningPlan, PlausibilitySummary]:
    """What to mask and what to relabel for the decoded genes of `gff3`, checked against `fasta`."""
    genome = dict(iter_fasta(fasta))
    by_gene = defaultdict(list)
    for t in read_gene_models(gff3).transcripts:
        by_gene[(t.seqid, t.gene_id)].append(t)
    summary = PlausibilitySummary(genes=len(by_gene))
    plan = CleaningPlan()
    for transcripts in by_gene.values():
        first = transcripts[0]
        if first.seqid not in genome:
            continue
        sequence = genome[first.seqid]
        key = (first.seqid.encode()[:SEQID_BYTES], first.strand)  # as data/seqids stores names: <= 50 bytes
        reasons = [implausibility(t, sequence) for t in transcripts]
        passing = [t for t, reason in zip(transcripts, reasons) if reason is None]
        if not passing:
            summary.genes_masked += 1
            for reason in reasons:
                summary.reasons[reason] = summary.reasons.get(reason, 0) + 1
            low = min(min(t.span[0], t.cds_start) for t in transcripts)
            high = max(max(t.span[1], t.cds_end) for t in transcripts)
            plan.mask[key].append((low, high))
            continue
        for t in passing:
            for intron, problem in intron_problems(t, sequence):
                if problem == NON_CANONICAL:
                    summary.introns_masked += 1
                    plan.mask[key].append(intron)
                else:
                    summary.introns_relabelled_cds += 1
                    plan.relabel_cds[key].append(intron)
    return plan, summary


def _row_slices(h5, spans: dict):
    """(row, [slice]) for each row of an h5 that the genome spans touch, as positions within the row."""
    seqids = h5[h5layout.SEQIDS.path][:]
    start_ends = h5[h5layout.START_ENDS.path][:]
    for row, (seqid, (s, e)) in enumerate(zip(seqids, start_ends)):
        plus = s < e
        lo, hi = (s, e) if plus else (e, s)
        hits = [(max(a, lo), min(b, hi)) for a, b in spans.get((bytes(seqid), "+" if plus else "-"), ())
                if a < hi and b > lo]
        if hits:
            yield row, [h5layout.row_slice((s, e), a, b) for a, b in hits]


def apply_cleaning(labels_h5_path, plan: CleaningPlan, summary: PlausibilitySummary) -> PlausibilitySummary:
    """Relabel, then mask, in an annotated h5 (in place); update `err_samples` of masked rows."""
    touched = set()
    with h5py.File(labels_h5_path, "r+") as h5:
        y, phases = h5[h5layout.Y.path], h5[h5layout.PHASES.path]
        for row, slices in _row_slices(h5, plan.relabel_cds):
            row_y, row_phases = y[row], phases[row]
            for positions in slices:
                summary.bases_relabelled_cds += int((row_y[positions, 2] == 0).sum())
                row_y[positions] = CDS_ONE_HOT
                row_phases[positions] = 0  # no phase label: the frame of a relabelled stretch is not known
            y[row], phases[row] = row_y, row_phases
            touched.add(row)
        weights = h5[h5layout.SAMPLE_WEIGHTS.path]
        err_samples = h5[h5layout.ERR_SAMPLES.path] if h5layout.ERR_SAMPLES.path in h5 else None
        for row, slices in _row_slices(h5, plan.mask):
            row_weights = weights[row]
            before = int(row_weights.sum())
            for positions in slices:
                row_weights[positions] = 0
            weights[row] = row_weights
            summary.bases_masked += before - int(row_weights.sum())
            touched.add(row)
            if err_samples is not None:
                err_samples[row] = bool(row_weights.any())
    summary.rows_touched = len(touched)
    return summary


def describe(summary: dict, reasons: bool = True) -> str:
    """One line on what the checks did, from a summary as a dict (the log line; `report.md` without reasons)."""
    listed = ", ".join(f"{k}: {v}" for k, v in sorted(summary["reasons"].items())) if reasons else ""
    return (f"{summary['genes_masked']} of {summary['genes']} decoded genes masked as implausible"
            + (f" ({listed})" if listed else "")
            + f"; {summary['introns_relabelled_cds']} decoded introns that read through relabelled CDS, "
            f"{summary['introns_masked']} with a non-canonical splice site masked")


def clean_pseudolabels(labels_h5_path, gff3, fasta) -> PlausibilitySummary:
    """Check every decoded gene of `gff3` against `fasta`; mask or relabel the failing parts in the h5."""
    plan, summary = plan_cleaning(gff3, fasta)
    return apply_cleaning(labels_h5_path, plan, summary)
