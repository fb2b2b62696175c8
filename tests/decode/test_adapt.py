"""The genome decoder adapting its statistics to the genome it decodes (`--adapt-to-genome`)."""

from __future__ import annotations

import copy

import numpy as np

from helixtune.annotation.coding_transcripts import read_gene_models
from helixtune.cli import main
from helixtune.data import example_path
from helixtune.decode import decode_to_gff3
from helixtune.decode import params as params_module
from helixtune.decode.params import DecodeParams, adapt_params, fit_params
from helixtune.decode.streams import open_inputs, sequence_bytes
from helixtune.genome.fasta import iter_fasta


def _genome(fasta) -> dict:
    return {name: bytes(seq) for name, seq in iter_fasta(fasta)}


def test_adapting_refits_the_statistics_and_keeps_the_weights_and_utrs():
    # the bundled example's S. pombe gene models stand in for a first pass over that genome
    gff3, genome = example_path("spombe_pieces.gff3.gz"), _genome(example_path("spombe_pieces.fa.gz"))
    base = DecodeParams.load()
    kept = copy.deepcopy(base)
    adapted, why = adapt_params(base, gff3, genome)
    genes = len({t.gene_id for t in read_gene_models(gff3).transcripts})
    assert why == f"refitted on {genes} first-pass genes" and genes >= params_module.MIN_ADAPT_GENES
    assert base == kept  # the lineage parameters are not touched
    fitted = fit_params([gff3], [genome], base=copy.deepcopy(base))
    assert adapted.medians["intron"] == fitted.medians["intron"] != base.medians["intron"]
    assert adapted.coding_log_odds == fitted.coding_log_odds != base.coding_log_odds
    assert adapted.donor_pwm == fitted.donor_pwm
    for name in ("emission_weight", "splice_weight", "coding_weight", "peak_threshold", "mean_utr5", "mean_utr3",
                 "utr_introns_per_utr_base"):
        assert getattr(adapted, name) == getattr(base, name), name
    assert adapted.source["adapted_from"] == base.source
    # too few genes: nothing is refitted, and the reason names the count
    none, why = adapt_params(base, gff3, genome, min_genes=genes + 1)
    assert none is None and f"found {genes} genes" in why


def test_the_sequence_is_read_back_from_the_genome_h5(test_data):
    folder = test_data / "decode"
    inputs = open_inputs(folder / "spombe_slice.genome.h5", folder / "spombe_slice.fungi_base_predictions.h5")
    try:
        read = {seq.seqid: sequence_bytes(inputs, seq) for seq in inputs.sequences}
    finally:
        inputs.close()
    assert read == {name: seq.upper() for name, seq in _genome(folder / "spombe_slice.fa").items()}


def test_decode_adapts_with_the_bundled_parameters_only(test_data, tmp_path, monkeypatch):
    folder = test_data / "decode"
    genome_h5, predictions = folder / "spombe_slice.genome.h5", folder / "spombe_slice.fungi_base_predictions.h5"
    # a 6-kbp slice has a gene or two: below the minimum, the decode says so and keeps the lineage statistics
    plain = decode_to_gff3(genome_h5, predictions, tmp_path / "plain.gff3", decoder="genome", threads=1, adapt=False)
    assert plain.adapted == "" and 0 < plain.genes < params_module.MIN_ADAPT_GENES
    summary = decode_to_gff3(genome_h5, predictions, tmp_path / "auto.gff3", decoder="genome", threads=1)
    assert summary.adapted.startswith(f"not adapted: the first pass found {plain.genes} genes, fewer than the")
    assert (tmp_path / "plain.gff3").read_text() == (tmp_path / "auto.gff3").read_text()
    # allowed to try on so few, it finds no intron to fit and says so
    monkeypatch.setattr(params_module, "MIN_ADAPT_GENES", 1)
    summary = decode_to_gff3(genome_h5, predictions, tmp_path / "few.gff3", decoder="genome", threads=1)
    assert summary.adapted.startswith("not adapted: the first pass cannot be fitted")


def test_decode_adapts_on_its_first_pass_and_saves_what_it_used(tmp_path):
    from helixtune.annotation.pipeline import gff_to_h5
    from helixtune.decode.label_predictions import write_label_predictions

    # the example's 300 kbp of S. pombe with its reference labels as predictions (132 genes)
    gff3, fasta = example_path("spombe_pieces.gff3.gz"), example_path("spombe_pieces.fa.gz")
    labels, predictions = tmp_path / "labels.h5", tmp_path / "predictions.h5"
    gff_to_h5(gff3, fasta, labels, "Spombe")
    write_label_predictions(labels, predictions)
    plain = decode_to_gff3(labels, predictions, tmp_path / "plain.gff3", decoder="genome", threads=1, adapt=False)
    saved = tmp_path / "adapted.json"
    summary = decode_to_gff3(labels, predictions, tmp_path / "adapted.gff3", decoder="genome", threads=1,
                             adapted_params_out=saved)
    assert summary.adapted == f"refitted on {plain.genes} first-pass genes" and plain.genes >= 100
    assert not list(tmp_path.glob(".*"))  # the first pass's scratch folder is gone
    adapted = DecodeParams.load(saved)
    first_pass_introns = [e - s for t in read_gene_models(tmp_path / "plain.gff3").transcripts for s, e in t.introns]
    assert adapted.medians["intron"] == float(np.median(first_pass_introns))
    assert adapted.source["adapted_to"] == f"{plain.genes} first-pass genes of the decoded genome"
    # that file, given as the parameters, is used as it is and decodes the same
    again = decode_to_gff3(labels, predictions, tmp_path / "again.gff3", decoder="genome", threads=1, params=saved)
    assert again.adapted == ""
    assert (tmp_path / "again.gff3").read_text() == (tmp_path / "adapted.gff3").read_text()


def test_adapting_needs_the_genome_decoder(test_data, tmp_path, capsys):
    folder = test_data / "decode"
    args = ["decode", str(folder / "spombe_slice.genome.h5"), str(folder / "spombe_slice.fungi_base_predictions.h5"),
            str(tmp_path / "out.gff3"), "--adapt-to-genome"]
    assert main(args) == 1
    assert "--adapt-to-genome need" in capsys.readouterr().err
    assert not (tmp_path / "out.gff3").exists()
    assert main(args + ["--decoder", "genome"]) == 0
    assert "not adapted" in capsys.readouterr().err


def test_fitting_counts_long_sequences_in_windows_with_the_same_result(monkeypatch):
    """Genome-wide counts go a window at a time (bounded memory on long chromosomes): windows of 1,000 bases
    give the same statistics as one window per sequence."""
    gff3, fasta = example_path("spombe_pieces.gff3.gz"), example_path("spombe_pieces.fa.gz")
    whole = fit_params([gff3], [fasta], base=DecodeParams.load())
    monkeypatch.setattr(params_module, "_WINDOW", 1000)
    windowed = fit_params([gff3], [fasta], base=DecodeParams.load())
    assert windowed == whole
