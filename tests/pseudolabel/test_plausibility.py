"""Pseudolabel cleaning on real S. pombe genes: implausible genes are masked (weight 0) exactly over their span,
introns with a non-canonical splice site are masked, and introns that read through are relabelled CDS."""

from __future__ import annotations

import gzip

import h5py
import numpy as np

from helixtune.annotation.pipeline import gff_to_h5
from helixtune.data import SPOMBE_EXAMPLE_FASTA, SPOMBE_EXAMPLE_GFF3, example_path
from helixtune.genome.fasta import iter_fasta
from helixtune.pseudolabel.plausibility import clean_pseudolabels, plan_cleaning

FASTA = example_path(SPOMBE_EXAMPLE_FASTA)
SEQID = "chrI_998952_1100001"
LENGTH = 21384
INTERGENIC, UTR, CDS, INTRON = range(4)


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


def with_intron(gene_id: str, start: int, end: int, intron: tuple[int, int]) -> list[str]:
    """A plus-strand gene over GFF start..end (its CDS) cut by an intron (0-based, half-open)."""
    a, b = intron
    cds = [(start, a), (b + 1, end)]  # GFF: 1-based, inclusive
    lines = [f"{SEQID}\ttest\tgene\t{start}\t{end}\t.\t+\t.\tID={gene_id}",
             f"{SEQID}\ttest\tmRNA\t{start}\t{end}\t.\t+\t.\tID={gene_id}.1;Parent={gene_id}"]
    for s, e in cds:
        lines.append(f"{SEQID}\ttest\texon\t{s}\t{e}\t.\t+\t.\tParent={gene_id}.1")
    phase = 0
    for s, e in cds:
        lines.append(f"{SEQID}\ttest\tCDS\t{s}\t{e}\t.\t+\t{phase}\tParent={gene_id}.1")
        phase = (3 - (e - s + 1 - phase) % 3) % 3
    return lines


def intron_in_orf(start: int, end: int, canonical: bool) -> tuple[int, int]:
    """An in-frame stretch inside the real CDS start..end (GFF) that could be cut out as an intron: it starts
    on a codon boundary, its length is a multiple of 3 (so the spliced CDS keeps its frame and has no new
    stop), and its borders are GT..AG (canonical) or not."""
    sequence = dict(iter_fasta(FASTA))[SEQID].upper()
    first = start - 1
    for a in range(first + 60, end - 200, 3):
        for b in range(a + 45, a + 150, 3):
            motif = sequence[a:a + 2] + sequence[b - 2:b]
            if (motif == b"GTAG") == canonical and (canonical or motif[:2] not in (b"GT", b"GC", b"AT")):
                return a, b
    raise AssertionError("no such stretch")


def labels_of(gff_lines: list[str], tmp_path):
    gff = tmp_path / "pseudolabels.gff3"
    gff.write_text("\n".join(["##gff-version 3", *gff_lines]) + "\n")
    labels = tmp_path / "labels.h5"
    gff_to_h5(gff, FASTA, labels, "Spombe", subsequence_length=LENGTH)
    return gff, labels


def read(labels):
    with h5py.File(labels) as h5:
        return {name: h5[f"data/{name}"][:] for name in ("y", "phases", "sample_weights", "start_ends", "seqids")}


def plus_row(data) -> int:
    """The plus-strand row of SEQID that holds genome base 7443 (all test genes lie in 7443..11209)."""
    for row, (seqid, (s, e)) in enumerate(zip(data["seqids"], data["start_ends"])):
        if seqid == SEQID.encode() and s < e and s <= 7442 < e:
            return row
    raise AssertionError("no such row")


def test_the_real_reference_passes_the_gene_checks(tmp_path):
    gff = tmp_path / "reference.gff3"
    gff.write_text("\n".join(reference_lines()) + "\n")
    _, summary = plan_cleaning(gff, FASTA)
    assert summary.genes == 132
    assert summary.genes_masked == 1  # one reference CDS is not a multiple of 3 long
    assert summary.reasons == {"length not a multiple of 3": 1}
    assert summary.introns_masked == 0  # every reference intron has a canonical splice site
    # real introns nearly always stop translation that reads on into them; a few short ones do not
    assert summary.introns_relabelled_cds == 12  # of the 122 reference introns


def test_an_intron_cut_into_an_open_reading_frame_is_relabelled_cds(tmp_path):
    start, end = 7443, 8798  # SPAC821.11, + strand, single exon
    a, b = intron_in_orf(start, end, canonical=True)
    gff, labels = labels_of(with_intron("cut", start, end, (a, b)), tmp_path)
    before = read(labels)
    row = plus_row(before)
    offset = int(before["start_ends"][row][0])
    assert (before["y"][row][a - offset:b - offset] == np.eye(4)[INTRON]).all()

    summary = clean_pseudolabels(labels, gff, FASTA)
    assert (summary.genes_masked, summary.introns_masked, summary.introns_relabelled_cds) == (0, 0, 1)
    assert summary.bases_relabelled_cds == b - a and summary.bases_masked == 0

    after = read(labels)
    changed = np.argwhere((before["y"] != after["y"]).any(-1))
    assert {int(r) for r in changed[:, 0]} == {row}
    assert changed[:, 1].min() == a - offset and changed[:, 1].max() == b - 1 - offset
    assert (after["y"][row][a - offset:b - offset] == np.eye(4)[CDS]).all()
    assert (after["phases"][row][a - offset:b - offset] == 0).all()  # no phase label where the frame is unknown
    assert (after["sample_weights"] == before["sample_weights"]).all()


def test_an_intron_with_a_non_canonical_splice_site_is_masked_alone(tmp_path):
    start, end = 7443, 8798
    a, b = intron_in_orf(start, end, canonical=False)
    gff, labels = labels_of(with_intron("odd", start, end, (a, b)), tmp_path)
    before = read(labels)
    summary = clean_pseudolabels(labels, gff, FASTA)
    assert (summary.genes_masked, summary.introns_masked, summary.introns_relabelled_cds) == (0, 1, 0)
    after = read(labels)
    row = plus_row(before)
    offset = int(before["start_ends"][row][0])
    changed = np.argwhere(before["sample_weights"] != after["sample_weights"])
    assert {int(r) for r in changed[:, 0]} == {row}
    assert (changed[:, 1].min(), changed[:, 1].max()) == (a - offset, b - 1 - offset)
    assert (after["y"] == before["y"]).all()


def test_broken_genes_are_masked_over_their_span_only(tmp_path):
    good_plus = gene_lines("SPAC821.11")  # + strand, 7443-8798
    good_minus = gene_lines("SPAC821.10c")  # - strand, 3887-4593
    no_start = renamed(shifted_start(gene_lines("SPAC821.12"), 3), "SPAC821.12", "broken")  # + strand, 9488-11209
    assert any("\tCDS\t" in line for line in no_start)
    gff, labels = labels_of([*good_minus, *good_plus, *no_start], tmp_path)
    before = read(labels)["sample_weights"]

    summary = clean_pseudolabels(labels, gff, FASTA)
    assert (summary.genes, summary.genes_masked) == (3, 1)
    assert summary.reasons == {"no ATG start": 1}

    data = read(labels)
    after, start_ends = data["sample_weights"], data["start_ends"]
    changed = np.argwhere(before != after)
    rows = sorted({int(r) for r in changed[:, 0]})
    assert len(rows) == 1
    row = rows[0]
    assert data["seqids"][row] == SEQID.encode() and start_ends[row][0] < start_ends[row][1]  # the plus strand
    a = int(start_ends[row][0])
    positions = changed[:, 1] + a  # 0-based genome positions
    span = slice(9488 - 1 - a, 11209 - a)  # the gene, GFF 9488-11209
    assert positions.min() >= 9488 - 1 and positions.max() <= 11209 - 1
    assert (after[row][span] == 0).all() and before[row][span].sum() > 1000
    assert summary.bases_masked == len(changed) == before[row][span].sum()


def test_minus_strand_gene_is_masked_on_the_minus_rows(tmp_path):
    broken = []
    for line in gene_lines("SPAC821.10c"):  # - strand, 3887-4593, single exon
        cols = line.split("\t")
        if cols[2] == "CDS":
            cols[3] = str(int(cols[3]) + 3)  # low end = 3' end on the minus strand: the stop codon is cut off
        broken.append("\t".join(cols))
    gff, labels = labels_of(broken, tmp_path)
    before = read(labels)["sample_weights"]
    summary = clean_pseudolabels(labels, gff, FASTA)
    assert summary.genes_masked == 1 and summary.reasons == {"no stop codon at the end": 1}
    data = read(labels)
    after, start_ends = data["sample_weights"], data["start_ends"]
    changed = np.argwhere(before != after)
    rows = sorted({int(r) for r in changed[:, 0]})
    assert len(rows) == 1
    s, e = (int(x) for x in start_ends[rows[0]])
    assert s > e  # a minus-strand row: position i holds genome base s - 1 - i
    positions = s - 1 - changed[:, 1]
    assert positions.min() >= 3887 - 1 and positions.max() <= 4593 - 1
    span = slice(s - 4593, s - 3887 + 1)  # genome bases 3886..4592 (0-based), reversed
    assert (after[rows[0]][span] == 0).all() and before[rows[0]][span].sum() > 500
