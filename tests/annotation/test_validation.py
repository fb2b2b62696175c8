"""Gene-model error detection (annotation/validation.py) on the S. pombe slice's reference annotation: real
genes pass the codon and phase checks, edits of them fail the check they break, and errors run to the mark
between neighbouring genes."""

from __future__ import annotations

import math

from helixtune.annotation.validation import (
    MISSING_START_CODON,
    MISSING_STOP_CODON,
    MISSING_UTR_3P,
    MISSING_UTR_5P,
    TOO_SHORT_INTRON,
    WRONG_PHASE_5P,
    detect_errors,
    has_start_codon,
    has_stop_codon,
    utr_share,
)
from tests.annotation.spombe_slice import SEQID, edited_gff3, gene_models, sequence

CHROM = "chrI_200000_240000\tSP2.annot.bed"


def _errors(genes: dict, **options) -> dict:
    detect_errors(list(genes.values()), SEQID, sequence(), **options)
    return {name: [(e.type, e.start, e.end) for t in gene.transcripts for e in t.errors]
            for name, gene in genes.items()}


def test_codons_are_read_on_the_genes_strand():
    seq, genes = sequence(), gene_models()
    plus = genes["SPAC13G6.14"].transcripts[0].cds  # GFF CDS 235..867 (+)
    assert has_start_codon(seq, plus.start, True) and has_stop_codon(seq, plus.end, True)
    minus = genes["SPAC24B11.06c"].transcripts[0].cds  # GFF CDS 6864..7913 (-)
    assert has_start_codon(seq, minus.start, False) and has_stop_codon(seq, minus.end, False)
    assert not has_start_codon(seq, minus.start - 3, False)


def test_reference_genes_only_miss_utrs():
    errors = _errors(gene_models())
    types = {kind for found in errors.values() for kind, _, _ in found}
    assert types == {MISSING_UTR_5P, MISSING_UTR_3P}
    assert errors["SPAC24B11.06c"] == []  # both UTRs annotated
    # SPAC13G6.14 (+) has no 3' UTR: the error runs from its end (867) to the mark towards the next plus gene
    # (SPAC24B11.05 at 5212): min(d // 2, floor(sqrt(d)) * 10) past the end
    gap = 5212 - 867
    assert errors["SPAC13G6.14"] == [(MISSING_UTR_3P, 867, 867 + min(gap // 2, math.isqrt(gap) * 10))]
    # the last plus gene's missing 3' UTR runs to the sequence end
    assert errors["SPAC24B11.13"] == [(MISSING_UTR_3P, 32665, 40000)]


def test_a_genome_without_utrs_is_not_masked_for_missing_them():
    genes = gene_models()
    with_utr, coding = utr_share(list(genes.values()))
    assert (with_utr, coding) == (7, 15)  # 8 of the 15 have neither UTR
    assert all(found == [] for found in _errors(genes, utr_annotated=False).values())


def test_edited_genes_fail_the_check_they_break(tmp_path):
    edits = {
        # CDS shortened by three bases at its 5' end (minus strand: its high end): no ATG there
        f"{CHROM}\tCDS\t6864\t7913": f"{CHROM}\tCDS\t6864\t7910\t.\t-\t0\tID=SPAC24B11.06c.1.cds;"
                                     "Parent=SPAC24B11.06c.1\n",
        # CDS shortened by three bases at its 3' end: the stop codon is left out
        f"{CHROM}\tCDS\t235\t867": f"{CHROM}\tCDS\t235\t864\t.\t+\t0\tID=SPAC13G6.14.1.cds;Parent=SPAC13G6.14.1\n",
        # a first CDS line that starts in phase 1
        f"{CHROM}\tCDS\t5213\t5893": f"{CHROM}\tCDS\t5213\t5893\t.\t+\t1\tID=SPAC24B11.05.1.cds;"
                                     "Parent=SPAC24B11.05.1\n",
    }
    errors = _errors(gene_models(edited_gff3(tmp_path, edits)))
    assert MISSING_START_CODON in {kind for kind, _, _ in errors["SPAC24B11.06c"]}
    assert MISSING_STOP_CODON in {kind for kind, _, _ in errors["SPAC13G6.14"]}
    assert WRONG_PHASE_5P in {kind for kind, _, _ in errors["SPAC24B11.05"]}
    assert errors["SPAC24B11.14"] == _errors(gene_models())["SPAC24B11.14"]  # untouched genes as before


def test_short_introns_are_marked_over_the_intron():
    found = _errors(gene_models(), min_intron_length=40)["SPAC24B11.14"]  # introns of 61 and 30 bp
    assert [(kind, start, end) for kind, start, end in found if kind == TOO_SHORT_INTRON] == \
        [(TOO_SHORT_INTRON, 30799, 30829)]
    assert not [kind for kind, _, _ in _errors(gene_models())["SPAC24B11.14"] if kind == TOO_SHORT_INTRON]
