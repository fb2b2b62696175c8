"""GFF3 records -> GeenuFF gene models (annotation/geenuff_models.py) on real annotations: coordinates,
the one CDS span, introns, phases, the longest transcript, and how broken links are counted or refused."""

from __future__ import annotations

import pytest

from helixtune.annotation.geenuff_models import (
    GEENUFF_CDS,
    GEENUFF_TRANSCRIPT,
    IdCounter,
    build_gene_model,
    collect_annotation,
    geenuff_start_end,
)
from helixtune.annotation.gff3 import iter_gff3
from helixtune.errors import InputFileError
from tests.annotation.gffcases import MICROMONAS
from tests.annotation.spombe_slice import edited_gff3, gene_models

CHROM = "chrI_200000_240000\tSP2.annot.bed"


def test_geenuff_coordinates_are_oriented_5_to_3():
    assert geenuff_start_end(121, 867, plus=True) == (120, 867)
    assert geenuff_start_end(2487, 2978, plus=False) == (2977, 2485)  # the plus slice is [end + 1, start + 1)


def test_micromonas_minus_strand_gene_with_two_introns():
    path = MICROMONAS / "mini_test_data.gff"
    annotation = collect_annotation(iter_gff3(path), path)
    assert annotation.n_genes == 124
    assert list(annotation.genes_by_seqid)[:2] == ["NW_003315902.1", "NW_003315901.1"]
    assert annotation.ignored_types == {"sequence_feature": 8, "region": 3}
    assert not annotation.unknown_types and not annotation.undefined_parents
    gene = build_gene_model(annotation.genes_by_seqid["NW_003315902.1"][0], IdCounter(), path)
    # gene / mRNA 130..1035 on '-', exons 735-1035, 285-554, 130-254, CDS on the same three, marked partial
    assert (gene.name, gene.plus, gene.start, gene.end, gene.partial) == ("gene-MICPUCDRAFT_23903", False, 1034,
                                                                          128, True)
    (transcript,) = gene.transcripts
    assert transcript.feature.type == GEENUFF_TRANSCRIPT and (transcript.feature.start, transcript.feature.end) == \
        (1034, 128)
    # one CDS from the first to the last CDS line, with the phase of the 5'-most line (0) and of the 3'-most (2)
    assert transcript.cds.type == GEENUFF_CDS
    assert (transcript.cds.start, transcript.cds.end, transcript.cds.phase, transcript.cds.phase_3p) == \
        (1034, 128, 0, 2)
    # introns = the transcript minus its exons, 5'->3': GFF 555..734 and 255..284
    assert [(i.start, i.end) for i in transcript.introns] == [geenuff_start_end(555, 734, False),
                                                             geenuff_start_end(255, 284, False)]
    assert transcript.protein_name == "XP_003064994.1" and transcript.longest


def test_spombe_genes_plus_and_minus():
    genes = gene_models()
    assert len(genes) == 15
    plus = genes["SPAC24B11.14"]  # three exons, CDS phases 0, 1, 1
    (t,) = plus.transcripts
    assert (t.cds.start, t.cds.end, t.cds.phase, t.cds.phase_3p) == (30544, 31136, 0, 1)
    assert [(i.start, i.end) for i in t.introns] == [(30681, 30742), (30799, 30829)]
    minus = genes["SPAC24B11.06c"]  # one exon, both UTRs
    (t,) = minus.transcripts
    assert (t.feature.start, t.feature.end) == (8043, 6474) and (t.cds.start, t.cds.end) == (7912, 6862)
    assert t.introns == []


def test_the_transcript_with_most_coding_bases_is_the_longest(tmp_path):
    shorter = (f"{CHROM}\tmRNA\t6476\t8044\t.\t-\t.\tID=second;Parent=SPAC24B11.06c\n"
               f"{CHROM}\texon\t6476\t8044\t.\t-\t.\tParent=second\n"
               f"{CHROM}\tCDS\t6864\t7500\t.\t-\t0\tParent=second\n")
    gene = gene_models(edited_gff3(tmp_path, {}, extra=shorter))["SPAC24B11.06c"]
    assert [(t.name, t.longest) for t in gene.transcripts] == [("SPAC24B11.06c.1", True), ("second", False)]


def test_broken_links_are_counted_or_refused(tmp_path):
    orphan = f"{CHROM}\tCDS\t100\t200\t.\t+\t0\tParent=nowhere\n"
    path = edited_gff3(tmp_path, {}, extra=orphan)
    assert collect_annotation(iter_gff3(path), path).undefined_parents == {"CDS": 1}
    # gene lines sharing an ID are one gene written on several lines (GFF3 allows it)
    repeated = f"{CHROM}\tgene\t30545\t31136\t.\t+\t.\tID=SPAC24B11.14\n"
    path = edited_gff3(tmp_path, {}, extra=repeated)
    annotation = collect_annotation(iter_gff3(path), path)
    assert annotation.merged_gene_lines == 1 and annotation.n_genes == 15
    duplicate = f"{CHROM}\tmRNA\t30545\t31136\t.\t+\t.\tID=SPAC24B11.14.1;Parent=SPAC24B11.14\n"
    path = edited_gff3(tmp_path, {}, extra=duplicate)
    with pytest.raises(InputFileError, match="duplicate ID 'SPAC24B11.14.1'"):
        collect_annotation(iter_gff3(path), path)
