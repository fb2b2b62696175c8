"""Implausible pseudolabelled genes are masked (weight 0) in the training matrices, exactly over their span."""

from __future__ import annotations

import gzip

import h5py
import numpy as np

from helixtune.annotation.pipeline import gff_to_h5
from helixtune.data import SPOMBE_EXAMPLE_FASTA, SPOMBE_EXAMPLE_GFF3, example_path
from helixtune.pseudolabel.plausibility import implausible_gene_spans, mask_implausible_genes

FASTA = example_path(SPOMBE_EXAMPLE_FASTA)
SEQID = "chrI_998952_1100001"
LENGTH = 21384


def reference_lines() -> list[str]:
    return gzip.decompress(example_path(SPOMBE_EXAMPLE_GFF3).read_bytes()).decode().splitlines()


def gene_lines(gene_id: str) -> list[str]:
    """The lines of one reference gene (gene, mRNA, exons, CDS), in file order."""
    return [line for line in reference_lines()
            if line.count("\t") == 8 and (f"ID={gene_id};" in line or f"ID={gene_id}." in line
                                          or f"Parent={gene_id}" in line)]


def shifted_start(lines: list[str], by: int) -> list[str]:
    """The gene with its 5' CDS boundary moved by `by` bases (plus strand): the start codon is lost."""
    out = []
    for line in lines:
        cols = line.split("\t")
        if cols[2] == "CDS":
            cols[3] = str(int(cols[3]) + by)
        out.append("\t".join(cols))
    return out


def renamed(lines: list[str], old: str, new: str) -> list[str]:
    return [line.replace(old, new) for line in lines]


def test_the_real_reference_is_plausible(tmp_path):
    gff = tmp_path / "reference.gff3"
    gff.write_text("\n".join(reference_lines()) + "\n")
    spans, summary = implausible_gene_spans(gff, FASTA)
    assert summary.genes == 132
    assert summary.genes_masked == 1  # one reference CDS is not a multiple of 3 long
    assert summary.reasons == {"length not a multiple of 3": 1}
    assert sum(len(v) for v in spans.values()) == 1


def test_broken_genes_are_masked_over_their_span_only(tmp_path):
    good_plus = gene_lines("SPAC821.11")  # + strand, 7443-8798
    good_minus = gene_lines("SPAC821.10c")  # - strand, 3887-4593
    no_start = renamed(shifted_start(gene_lines("SPAC821.12"), 3), "SPAC821.12", "broken")  # + strand, 9488-11209
    assert any("\tCDS\t" in line for line in no_start)
    gff = tmp_path / "pseudolabels.gff3"
    gff.write_text("\n".join(["##gff-version 3", *good_minus, *good_plus, *no_start]) + "\n")
    labels = tmp_path / "labels.h5"
    gff_to_h5(gff, FASTA, labels, "Spombe", subsequence_length=LENGTH)
    with h5py.File(labels) as h5:
        before = h5["data/sample_weights"][:]

    summary = mask_implausible_genes(labels, gff, FASTA)
    assert (summary.genes, summary.genes_masked) == (3, 1)
    assert summary.reasons == {"no ATG start": 1}

    with h5py.File(labels) as h5:
        after = h5["data/sample_weights"][:]
        seqids = h5["data/seqids"][:]
        start_ends = h5["data/start_ends"][:]
    changed = np.argwhere(before != after)
    rows = sorted({int(r) for r in changed[:, 0]})
    assert len(rows) == 1
    row = rows[0]
    assert seqids[row] == SEQID.encode() and start_ends[row][0] < start_ends[row][1]  # the plus strand
    a = int(start_ends[row][0])
    positions = changed[:, 1] + a  # 0-based genome positions
    span = slice(9488 - 1 - a, 11209 - a)  # the gene, GFF 9488-11209
    assert positions.min() >= 9488 - 1 and positions.max() <= 11209 - 1
    assert (after[row][span] == 0).all() and before[row][span].sum() > 1000
    assert summary.bases_masked == len(changed) == before[row][span].sum()


def test_minus_strand_gene_is_masked_on_the_minus_rows(tmp_path):
    lines = gene_lines("SPAC821.10c")  # - strand, 3887-4593, single exon
    broken = []
    for line in lines:  # drop the stop codon: the CDS's 5' end on the minus strand is its high end
        cols = line.split("\t")
        if cols[2] == "CDS":
            cols[3] = str(int(cols[3]) + 3)  # low end = 3' end on the minus strand: the stop codon is cut off
        broken.append("\t".join(cols))
    gff = tmp_path / "pseudolabels.gff3"
    gff.write_text("\n".join(["##gff-version 3", *broken]) + "\n")
    labels = tmp_path / "labels.h5"
    gff_to_h5(gff, FASTA, labels, "Spombe", subsequence_length=LENGTH)
    with h5py.File(labels) as h5:
        before = h5["data/sample_weights"][:]
    summary = mask_implausible_genes(labels, gff, FASTA)
    assert summary.genes_masked == 1 and summary.reasons == {"no stop codon at the end": 1}
    with h5py.File(labels) as h5:
        after = h5["data/sample_weights"][:]
        start_ends = h5["data/start_ends"][:]
    changed = np.argwhere(before != after)
    rows = sorted({int(r) for r in changed[:, 0]})
    assert len(rows) == 1
    s, e = (int(x) for x in start_ends[rows[0]])
    assert s > e  # a minus-strand row: position i holds genome base s - 1 - i
    positions = s - 1 - changed[:, 1]
    assert positions.min() >= 3887 - 1 and positions.max() <= 4593 - 1
    span = slice(s - 4593, s - 3887 + 1)  # genome bases 3886..4592 (0-based), reversed
    assert (after[rows[0]][span] == 0).all() and before[rows[0]][span].sum() > 500
