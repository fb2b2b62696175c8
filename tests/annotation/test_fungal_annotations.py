"""Real fungal annotations as they come: Ensembl GTF, GFF3 without CDS phases, INSDC partial genes.

The excerpts in tests/data/fungi are cut from the fungal training genomes (see the README there).
"""

from __future__ import annotations

import gzip

import h5py
import numpy as np
import pytest
import torch

from helixtune import h5layout
from helixtune.annotation.importer import import_gff
from helixtune.annotation.pipeline import gff_to_h5
from helixtune.train.loss import merge_unannotated_utr, weighted_cross_entropy

INTERGENIC, UTR, CDS, INTRON = range(4)


@pytest.fixture(scope="module")
def fungi(test_data):
    return test_data / "fungi"


def _plus_strand_labels(h5_path, seqid: str) -> tuple[np.ndarray, np.ndarray]:
    """(one-hot labels, sample weights) of a sequence's plus strand, stitched from its chunks."""
    with h5py.File(h5_path, "r") as h5:
        seqids = h5[h5layout.SEQIDS.path][:].astype(str)
        se = h5[h5layout.START_ENDS.path][:]
        rows = [r for r in np.flatnonzero(seqids == seqid) if se[r, 0] < se[r, 1]]
        rows.sort(key=lambda r: se[r, 0])
        y = np.concatenate([h5[h5layout.Y.path][r][: se[r, 1] - se[r, 0]] for r in rows])
        sw = np.concatenate([h5[h5layout.SAMPLE_WEIGHTS.path][r][: se[r, 1] - se[r, 0]] for r in rows])
    return y.argmax(axis=-1), sw


def test_ensembl_gtf_imports_with_stop_codons_inside_the_cds(fungi, tmp_path):
    imported, exported = gff_to_h5(fungi / "scerevisiae_chrI.gtf.gz", fungi / "scerevisiae_chrI.fa.gz",
                                   tmp_path / "sc.h5", "Scerevisiae")
    with gzip.open(fungi / "scerevisiae_chrI.gtf.gz", "rt") as handle:
        lines = [line.split("\t") for line in handle]
    types = [c[2] for c in lines]
    coding = {c[8].split('transcript_id "')[1].split('"')[0] for c in lines if c[2] == "CDS"}
    assert imported.n_genes == types.count("gene") and imported.n_transcripts == types.count("transcript")
    assert imported.n_coding_transcripts == len(coding) > 90
    # the stop codons, outside the CDS in Ensembl's GTF, are joined to it: no gene misses its stop codon
    assert imported.errors["missing_stop_codon"] == 0
    # Ensembl's yeast genes have no UTRs: missing UTRs are not masked, the h5 says so for training
    assert not imported.utr_annotated and imported.errors["missing_utr_5p"] == 0
    assert imported.ignored_types["start_codon"] == types.count("start_codon")
    with h5py.File(tmp_path / "sc.h5", "r") as h5:
        assert not h5layout.utr_annotated(h5)

    # YAL003W (EFB1): CDS 142174-142253 and 142620-143157, stop codon 143158-143160 (1-based, inclusive)
    labels, weights = _plus_strand_labels(tmp_path / "sc.h5", "I")
    assert (labels[142173:142253] == CDS).all() and (labels[142253:142619] == INTRON).all()
    assert (labels[142619:143160] == CDS).all()  # the stop codon is coding
    assert labels[142172] == INTERGENIC and labels[143160] == INTERGENIC
    assert (weights[142000:143500] == 1).all()  # flanks kept: intergenic here means "intergenic or UTR"


def test_gtf_gene_and_transcript_may_share_an_id(fungi, tmp_path):
    """Ensembl's pseudogenes have transcript_id == gene_id (YLL017W); GFF3 IDs would collide, GTF's do not."""
    gtf = tmp_path / "pseudo.gtf"
    gtf.write_text('I\tsgd\tgene\t100\t400\t.\t+\t.\tgene_id "G1"; gene_biotype "pseudogene";\n'
                   'I\tsgd\ttranscript\t100\t400\t.\t+\t.\tgene_id "G1"; transcript_id "G1";\n'
                   'I\tsgd\texon\t100\t400\t.\t+\t.\tgene_id "G1"; transcript_id "G1"; exon_number "1";\n')
    summary = import_gff(gtf, fungi / "scerevisiae_chrI.fa.gz", tmp_path / "db.sqlite3", "x")
    assert summary.n_genes == 1 and summary.n_transcripts == 1 and summary.n_coding_transcripts == 0


def test_gff3_without_cds_phases_gets_them_from_the_chain(fungi, tmp_path):
    imported, _ = gff_to_h5(fungi / "sparadoxus_chrI_1-133500.gff3.gz", fungi / "sparadoxus_chrI_1-133500.fa.gz",
                            tmp_path / "sp.h5", "Sparadoxus")
    with gzip.open(fungi / "sparadoxus_chrI_1-133500.gff3.gz", "rt") as handle:
        lines = [line.split("\t") for line in handle if not line.startswith("#")]
    cds_lines = [c for c in lines if c[2] == "CDS"]
    assert all(c[7] == "." for c in cds_lines)
    assert imported.phases_filled == len(cds_lines)
    # right phases leave nothing to mask: a wrong phase of the second CDS piece would be mismatched_ending_phase
    assert not imported.errors["wrong_starting_phase"] and not imported.errors["mismatched_ending_phase"]
    # the tRNA lines have no gene above them: each becomes a gene of its own
    assert imported.genes_for_parentless_transcripts == sum(c[2] == "tRNA" for c in lines) > 0
    # CBS432_01T00350.1: CDS 77352-77453 (102 bp) and 77567-77818; phases 0 and (3 - 102 % 3) % 3 = 0 labelled
    labels, weights = _plus_strand_labels(tmp_path / "sp.h5", "chrI")
    assert (labels[77351:77453] == CDS).all() and (labels[77453:77566] == INTRON).all()
    assert (weights[77000:78000] == 1).all()


def test_fill_missing_phases_walks_the_chain_5_to_3():
    from helixtune.annotation.geenuff_models import fill_missing_phases
    from helixtune.annotation.gff3 import GffRecord

    def cds(start, end):
        return GffRecord(1, "s", "x", "CDS", start, end, None, "-", None, {})

    pieces = [cds(1, 100), cds(201, 250), cds(301, 331)]  # minus strand: 5' is the last piece
    assert fill_missing_phases(pieces, plus=False) == 3
    # 5'->3': 31 bp (phase 0), 50 bp (after 31: (3 - 31 % 3) % 3 = 2), 100 bp (after 81: 0)
    assert [p.phase for p in pieces] == [0, 2, 0]


def test_partial_genes_cut_by_contig_ends_are_masked(fungi, tmp_path):
    gff3 = fungi / "pjirovecii_CAKM01000028.gff3.gz"
    imported, _ = gff_to_h5(gff3, fungi / "pjirovecii_CAKM01000028.fa.gz", tmp_path / "pj.h5", "Pjirovecii")
    # one gene ID repeated on two gene lines (an INSDC conversion artefact) is one gene, not an error
    assert imported.merged_gene_lines == 1
    assert imported.partial_genes >= 1 and imported.errors["partial_gene"] == imported.partial_genes
    # a partial minus-strand gene with an incomplete CDS has weight 0 over its whole extent (the h5 stores
    # minus-strand chunks reverse-complemented)
    with h5py.File(tmp_path / "pj.h5", "r") as h5:
        se = h5[h5layout.START_ENDS.path][:]
        minus = [r for r in range(len(se)) if se[r, 0] > se[r, 1]]
        sw = np.concatenate([h5[h5layout.SAMPLE_WEIGHTS.path][r][: se[r, 0] - se[r, 1]] for r in
                             sorted(minus, key=lambda r: -se[r, 0])])[::-1]  # back to plus order
    with gzip.open(gff3, "rt") as handle:
        partial_minus = [line.split("\t") for line in handle
                         if "\tgene\t" in line and "partial=true" in line and "\t-\t" in line]
    masked = [g for g in partial_minus if (sw[int(g[3]) - 1:int(g[4])] == 0).all()]
    assert masked, "no partial minus-strand gene is masked"
    # keep: upstream's labels
    kept, _ = gff_to_h5(gff3, fungi / "pjirovecii_CAKM01000028.fa.gz", tmp_path / "keep.h5", "Pjirovecii",
                        partial_genes="keep")
    assert kept.partial_genes == 0 and not kept.errors["partial_gene"]


def test_loss_reads_intergenic_as_intergenic_or_utr_where_no_utr_is_annotated():
    torch.manual_seed(0)
    log_probs = torch.log_softmax(torch.randn(2, 3, 9, 4), dim=-1)
    target = torch.zeros(2, 3, 9, 4)
    target[..., INTERGENIC] = 1
    weights = torch.ones(2, 3)
    known = torch.tensor([True, False])
    merged = merge_unannotated_utr(log_probs, known)
    expected = -torch.log(log_probs.exp()[..., INTERGENIC] + log_probs.exp()[..., UTR])
    assert torch.allclose(-merged[1, ..., INTERGENIC], expected[1], atol=1e-6)
    assert torch.equal(merged[0], log_probs[0])  # a genome with UTRs: upstream's loss, unchanged
    assert weighted_cross_entropy(merged, target, weights) < weighted_cross_entropy(log_probs, target, weights)
    assert merge_unannotated_utr(log_probs, torch.tensor([True, True])) is log_probs


def test_utr_reach_keeps_intergenic_labels_far_from_genes_plain_intergenic(fungi, tmp_path):
    """--utr-reach: 'intergenic or UTR' only near a gene (or a chunk end) of a real P. jirovecii chunk."""
    from helixtune.train.data import ChunkDataset, DataOptions
    from helixtune.train.loss import near_genes

    gff_to_h5(fungi / "pjirovecii_CAKM01000028.gff3.gz", fungi / "pjirovecii_CAKM01000028.fa.gz",
              tmp_path / "no_utr.h5", "Pjirovecii", subsequence_length=10692, utr_annotated="no")
    sample = ChunkDataset([tmp_path / "no_utr.h5"], "val", DataOptions())[0]
    y = torch.as_tensor(sample["y"]).unsqueeze(0)
    genic = (y[0, ..., 1:].sum(-1) > 0).reshape(-1).numpy()
    assert 0 < genic.mean() < 1
    reach = 300
    near = near_genes(y, reach).reshape(-1).numpy()
    positions = np.arange(len(genic))
    genic_at = positions[genic]
    distance = np.abs(positions[:, None] - genic_at[None, :]).min(axis=1)  # brute force, for comparison
    edge = (positions < reach) | (positions >= len(genic) - reach)
    assert np.array_equal(near, (distance <= reach) | edge)
    assert (~near).sum() > 1000  # long intergenic stretches exist here

    log_probs = torch.log_softmax(torch.randn(*y.shape), dim=-1)
    merged = merge_unannotated_utr(log_probs, torch.tensor([False]), y, reach)
    flat, original = merged.reshape(-1, 4), log_probs.reshape(-1, 4)
    far = torch.as_tensor(~near)
    assert torch.equal(flat[far, INTERGENIC], original[far, INTERGENIC])  # far away: plain intergenic
    summed = torch.logaddexp(original[:, INTERGENIC], original[:, UTR])
    assert torch.allclose(flat[~far, INTERGENIC], summed[~far])
    assert torch.equal(merge_unannotated_utr(log_probs, torch.tensor([False]), y, None)[..., INTERGENIC],
                       summed.reshape(y.shape[:3]))  # without a reach: everywhere, as before


def test_training_samples_carry_whether_their_genome_annotates_utrs(fungi, tmp_path):
    from helixtune.train.data import ChunkDataset, DataOptions

    gff_to_h5(fungi / "pjirovecii_CAKM01000028.gff3.gz", fungi / "pjirovecii_CAKM01000028.fa.gz",
              tmp_path / "no_utr.h5", "Pjirovecii", subsequence_length=10692, utr_annotated="no")
    dataset = ChunkDataset([tmp_path / "no_utr.h5"], "val", DataOptions())
    assert len(dataset) and not dataset[0]["utr_known"]


def test_a_feature_beyond_the_sequence_end_is_a_one_line_error(fungi, tmp_path):
    from helixtune.errors import InputFileError

    lines = gzip.open(fungi / "pjirovecii_CAKM01000028.gff3.gz", "rt").read().splitlines(keepends=True)
    cds = next(i for i, line in enumerate(lines) if "\tCDS\t" in line)
    columns = lines[cds].split("\t")
    columns[4] = "1000000000"
    lines[cds] = "\t".join(columns)
    broken = tmp_path / "beyond.gff3"
    broken.write_text("".join(lines))
    with pytest.raises(InputFileError, match=rf"line {cds + 1}: CDS ends at 1,000,000,000, beyond the end of "
                                             r"'CAKM01000028.1' \(20,287 bp"):
        import_gff(broken, fungi / "pjirovecii_CAKM01000028.fa.gz", tmp_path / "db.sqlite3", "x")
    assert not (tmp_path / "db.sqlite3").exists()


def test_evaluate_and_decode_params_read_an_ensembl_gtf(fungi, tmp_path, capsys):
    """A GTF reference is scored as its GFF3 would be: every coding transcript, stop codons joined to the CDS."""
    from helixtune.annotation.coding_transcripts import normalise_stop_codons, read_gene_models
    from helixtune.cli import main
    from helixtune.evaluate.compare import evaluate
    from helixtune.genome.fasta import iter_fasta

    gtf, fasta = fungi / "scerevisiae_chrI.gtf.gz", fungi / "scerevisiae_chrI.fa.gz"
    with gzip.open(gtf, "rt") as handle:
        coding = {line.split('transcript_id "')[1].split('"')[0] for line in handle if line.split("\t")[2] == "CDS"}
    models = read_gene_models(gtf)
    assert {t.id.removeprefix("transcript:") for t in models.transcripts} == coding
    genome = {name: bytes(seq) for name, seq in iter_fasta(fasta)}
    models = normalise_stop_codons(models, genome, "auto")
    # YAL003W: CDS 142174-142253 and 142620-143157 with its stop codon 143158-143160 joined (0-based ends)
    efb1 = next(t for t in models.transcripts if t.gene_id.endswith("YAL003W"))
    assert efb1.cds == [(142173, 142253), (142619, 143160)]
    result = evaluate(gtf, gtf, fasta=fasta)
    assert result["features"]["gene"]["f1"] == 1.0 and result["sanity"]["reference"]["genes"] == len(coding)
    fit = ["decode-params", "fit", "--gff3", str(gtf), "--fasta", str(fasta), "-o", str(tmp_path / "p.json")]
    assert main(fit) == 0
    assert f"{len(coding)} genes" in capsys.readouterr().err
