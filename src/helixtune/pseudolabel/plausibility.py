"""Mask pseudolabelled genes that cannot be real protein-coding genes before training on them.

A decoded gene model is a pseudolabel; when the network is unsure, HelixerPost still writes a gene, often
with a spurious intron of a few bases or a coding sequence that runs through a stop codon. Training on such
a gene teaches the network its own mistake. Each decoded transcript is therefore checked against the genome:

- the CDS starts with ATG and ends with a stop codon (TAA, TAG, TGA; HelixerPost's CDS includes it);
- its length is a multiple of 3 and it has no stop codon in frame before the last codon;
- every intron between CDS segments has a canonical splice site (GT..AG, GC..AG or AT..AC).

A gene none of whose transcripts passes is masked: its bases get sample weight 0 in the pseudolabel
matrices, so training neither learns its structure nor learns that its bases are intergenic. The masked
genes are listed in the summary; `--keep-implausible-genes` of `self-train` turns the check off.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import h5py
import numpy as np

from helixtune import h5layout
from helixtune.evaluate.gene_models import STOP_CODONS, Transcript, codons, read_gene_models
from helixtune.genome.fasta import iter_fasta

SPLICE_SITES = (b"GTAG", b"GCAG", b"ATAC")
SEQID_BYTES = np.dtype(h5layout.SEQID_DTYPE).itemsize


@dataclass
class PlausibilitySummary:
    genes: int = 0
    genes_masked: int = 0
    reasons: dict = field(default_factory=dict)  # first failed check -> transcripts
    bases_masked: int = 0  # strand-bases newly given weight 0
    rows_touched: int = 0


def implausibility(t: Transcript, sequence: bytes) -> str | None:
    """The first check the transcript fails, or None when it could be a real coding transcript."""
    coding = t.coding_sequence({t.seqid: sequence})
    if len(coding) % 3 != 0:
        return "length not a multiple of 3"
    if coding[:3] != b"ATG":
        return "no ATG start"
    if coding[-3:] not in STOP_CODONS:
        return "no stop codon at the end"
    if any(codon in STOP_CODONS for codon in codons(coding)[:-1]):
        return "stop codon in frame"
    if any(motif.upper() not in SPLICE_SITES for motif in t.splice_motifs(sequence)):
        return "non-canonical splice site"
    return None


def implausible_gene_spans(gff3, fasta) -> tuple[dict, PlausibilitySummary]:
    """{(seqid as stored in h5, strand): [(start, end)]} (0-based, half-open) of the genes to mask; counts."""
    genome = dict(iter_fasta(fasta))
    by_gene = defaultdict(list)
    for t in read_gene_models(gff3).transcripts:
        by_gene[(t.seqid, t.gene_id)].append(t)
    summary = PlausibilitySummary(genes=len(by_gene))
    spans = defaultdict(list)
    for transcripts in by_gene.values():
        reasons = [implausibility(t, genome[t.seqid]) if t.seqid in genome else None for t in transcripts]
        if any(reason is None for reason in reasons):
            continue
        summary.genes_masked += 1
        for reason in reasons:
            summary.reasons[reason] = summary.reasons.get(reason, 0) + 1
        first = transcripts[0]
        low = min(min(t.span[0], t.cds_start) for t in transcripts)
        high = max(max(t.span[1], t.cds_end) for t in transcripts)
        # keyed as data/seqids stores names: at most 50 bytes
        spans[(first.seqid.encode()[:SEQID_BYTES], first.strand)].append((low, high))
    return dict(spans), summary


def mask_spans(labels_h5_path, spans: dict, summary: PlausibilitySummary) -> PlausibilitySummary:
    """Set `data/sample_weights` to 0 over the spans in an annotated h5 (in place); update `err_samples`.

    A plus-strand row [a, b) holds genome base a + i at position i; a minus-strand row [s, e) with s > e
    holds base s - 1 - i (padding, if any, after the real bases: the genome file's layout).
    """
    with h5py.File(labels_h5_path, "r+") as h5:
        seqids = h5[h5layout.SEQIDS.path][:]
        start_ends = h5[h5layout.START_ENDS.path][:]
        weights = h5[h5layout.SAMPLE_WEIGHTS.path]
        err_samples = h5[h5layout.ERR_SAMPLES.path] if h5layout.ERR_SAMPLES.path in h5 else None
        for row, (seqid, (s, e)) in enumerate(zip(seqids, start_ends)):
            plus = s < e
            lo, hi = (s, e) if plus else (e, s)
            genes = spans.get((bytes(seqid), "+" if plus else "-"), ())
            hits = [(max(a, lo), min(b, hi)) for a, b in genes if a < hi and b > lo]
            if not hits:
                continue
            row_weights = weights[row]
            before = int(row_weights.sum())
            for a, b in hits:
                i, j = (a - s, b - s) if plus else (s - b, s - a)
                row_weights[i:j] = 0
            weights[row] = row_weights
            summary.bases_masked += before - int(row_weights.sum())
            summary.rows_touched += 1
            if err_samples is not None:
                err_samples[row] = bool(row_weights.any())
    return summary


def mask_implausible_genes(labels_h5_path, gff3, fasta) -> PlausibilitySummary:
    """Check every decoded gene of `gff3` against `fasta`; give the failing genes weight 0 in the h5."""
    spans, summary = implausible_gene_spans(gff3, fasta)
    return mask_spans(labels_h5_path, spans, summary)
