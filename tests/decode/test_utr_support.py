"""The genome decoder keeps UTRs only where the network supports them (`helixtune.decode.utr`)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from helixtune.annotation.coding_transcripts import read_gene_models
from helixtune.cli import main
from helixtune.decode import decode_to_gff3
from helixtune.decode.genome_pipeline import decode_genome
from helixtune.decode.states import LABEL_CODING, LABEL_INTERGENIC, LABEL_INTRON, LABEL_UTR3, LABEL_UTR5
from helixtune.decode.utr import UtrBaseline, trim_unsupported_utrs

# gene SPAC977.10 on the S. pombe slice (0-based, half-open): CDS [2116, 2240) + [2317, 3600), mRNA to 3858
CDS = ((2116, 2240), (2317, 3600))


@pytest.fixture()
def slice_genome(test_data):
    return test_data / "decode" / "spombe_slice.genome.h5"


def _gene_predictions(path, utr: float) -> None:
    """Predictions that know SPAC977.10 (CDS, intron, phases) and give its flanks [2000, 2116) and
    [3600, 3858) the UTR probability `utr`, the rest of it intergenic; intergenic elsewhere."""
    n = 6000
    classes = np.zeros((2, n, 4), np.float32)
    phases = np.zeros((2, n, 4), np.float32)
    classes[:, :, 0] = 1
    phases[:, :, 0] = 1
    for lo, hi in ((2000, 2116), (3600, 3858)):
        classes[0, lo:hi] = [0.98 - utr, utr, 0.01, 0.01]
    position = 0
    for k, (lo, hi) in enumerate(CDS):
        classes[0, lo:hi] = [0.0, 0.0, 1.0, 0.0]
        phases[0, lo:hi] = 0
        for x in range(lo, hi):
            phases[0, x, (1, 3, 2)[position % 3]] = 1  # Helixer's phase: bases to the next codon start
            position += 1
        if k == 0:
            classes[0, hi:CDS[1][0]] = [0.0, 0.0, 0.0, 1.0]
    with h5py.File(path, "w") as out:
        out["predictions"] = classes.astype(np.float16)
        out["predictions_phase"] = phases.astype(np.float16)


def _decode(genome, predictions, out, trim=True):
    return decode_genome(genome, predictions, out, threads=1, show_progress=False, trim_utrs=trim)


def _records(path) -> list:
    return [line.split("\t") for line in path.read_text().splitlines() if line and not line.startswith("#")]


def test_network_without_utrs_gives_genes_that_span_their_cds(test_data, slice_genome, tmp_path):
    """The bundled fungal model's real predictions of the slice: it gives UTR more than intergenic almost
    everywhere, so the decoder's UTRs fill the slice; trimmed, each gene is its CDS and the CDS is unchanged."""
    predictions = test_data / "decode" / "spombe_slice.fungi_base_predictions.h5"
    raw, trimmed = tmp_path / "raw.gff3", tmp_path / "trimmed.gff3"
    _decode(slice_genome, predictions, raw, trim=False)
    summary = _decode(slice_genome, predictions, trimmed)
    assert summary.utr_baseline_bits > 2.0  # the network's own UTR:intergenic odds, about 25 to 1
    before, after = read_gene_models(raw).transcripts, read_gene_models(trimmed).transcripts
    assert sum(t.span[1] - t.span[0] for t in before) > 5000  # the untrimmed UTRs fill the slice
    # (the count includes genes too short to be written)
    assert summary.trimmed_utr_bases >= sum(t.span[1] - t.span[0] - t.coding_length for t in before)
    assert [t.cds_chain for t in after] == [t.cds_chain for t in before] and len(after) >= 1
    for t in after:
        assert t.span == (t.cds_start, t.cds_end)
        assert [s for s, e in t.exons] == [s for s, e in t.cds] and [e for s, e in t.exons] == [e for s, e in t.cds]
    assert not any(r[2].endswith("UTR") for r in _records(trimmed))
    # every CDS record (coordinates, strand, phase) as decoded
    assert [r[3:8] for r in _records(trimmed) if r[2] == "CDS"] == [r[3:8] for r in _records(raw) if r[2] == "CDS"]


def test_zero_utr_probability_leaves_no_utr_beyond_the_cds(slice_genome, tmp_path):
    predictions = tmp_path / "predictions.h5"
    _gene_predictions(predictions, utr=0.0)
    out = tmp_path / "out.gff3"
    summary = _decode(slice_genome, predictions, out)
    assert summary.utr_baseline_bits == 0.0
    (t,) = read_gene_models(out).transcripts
    assert t.cds_chain == CDS and t.span == (2116, 3600)
    assert {r[2] for r in _records(out)} == {"gene", "mRNA", "exon", "CDS"}


def test_utrs_the_network_predicts_are_kept(slice_genome, tmp_path):
    predictions = tmp_path / "predictions.h5"
    _gene_predictions(predictions, utr=0.9)
    trimmed, raw = tmp_path / "trimmed.gff3", tmp_path / "raw.gff3"
    summary = _decode(slice_genome, predictions, trimmed)
    _decode(slice_genome, predictions, raw, trim=False)
    assert summary.utr_baseline_bits == 0.0 and summary.trimmed_utr_bases == 0
    assert trimmed.read_bytes() == raw.read_bytes()
    (t,) = read_gene_models(trimmed).transcripts
    assert t.cds_chain == CDS and t.span == (2000, 3858)
    utrs = [(r[2], int(r[3]), int(r[4])) for r in _records(trimmed) if r[2].endswith("UTR")]
    assert utrs == [("five_prime_UTR", 2001, 2116), ("three_prime_UTR", 3601, 3858)]


def test_helixerpost_decoder_is_untouched(test_data, tmp_path):
    """UTR trimming belongs to the genome decoder: the helixerpost decoder writes HelixerPost's bytes and its
    UTRs for the same predictions."""
    out = tmp_path / "helixerpost.gff3"
    assert main(["decode", "--decoder", "helixerpost", str(test_data / "decode" / "example_genome_data.h5"),
                 str(test_data / "decode" / "example_predictions.h5"), str(out)]) == 0
    assert out.read_bytes() == (test_data / "decode" / "example_expected.gff3").read_bytes()
    slice_out = tmp_path / "slice.gff3"
    decode_to_gff3(test_data / "decode" / "spombe_slice.genome.h5",
                   test_data / "decode" / "spombe_slice.fungi_base_predictions.h5", slice_out,
                   decoder="helixerpost", threads=1, show_progress=False)
    assert any(r[2].endswith("UTR") for r in _records(slice_out))


def _runs(labels) -> np.ndarray:
    labels = np.asarray(labels, np.int64)
    change = np.flatnonzero(np.diff(labels)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(labels)]])
    return np.stack([starts, ends, labels[starts]], axis=1)


def _classes(utr_odds_bits) -> np.ndarray:
    """Class probabilities whose log2 UTR:intergenic odds are the given values (CDS and intron columns 0)."""
    odds = 2.0 ** np.asarray(utr_odds_bits, np.float64)
    classes = np.zeros((len(odds), 4), np.float32)
    classes[:, 0] = 1 / (1 + odds)
    classes[:, 1] = odds / (1 + odds)
    return classes


IG, U5, C, I, U3 = LABEL_INTERGENIC, LABEL_UTR5, LABEL_CODING, LABEL_INTRON, LABEL_UTR3


def test_cut_falls_where_the_evidence_from_the_cds_outwards_peaks():
    labels = [IG] * 2 + [U5] * 6 + [C] * 6 + [U3] * 8 + [IG] * 2
    evidence = [0] * 2 + [-3, -3, 5, 5, 1, 1] + [0] * 6 + [2, 2, -1, -1, -1, -1, 3, 0] + [0] * 2
    runs, trimmed = trim_unsupported_utrs(_runs(labels), _classes(evidence), 0.0)
    # 5': from the CDS outwards 1, 1, 5, 5, -3, -3 -> keep 4; 3': 2, 2, -1 x4, 3, 0 -> peak 4 after 2 bases
    # (a spike of 3 further out does not make up for the four bases against)
    assert runs.tolist() == [[0, 4, IG], [4, 8, U5], [8, 14, C], [14, 16, U3], [16, 24, IG]]
    assert trimmed == 2 + 6
    # the baseline is subtracted: against 2 bits the 5' flank reads -1, -1, 3, 3, -5, -5 (keep 4) and the
    # 3' flank never sums above 0 (no 3' UTR)
    runs, _ = trim_unsupported_utrs(_runs(labels), _classes(evidence), 2.0)
    assert runs.tolist() == [[0, 4, IG], [4, 8, U5], [8, 14, C], [14, 24, IG]]


def test_utr_intron_stays_only_with_utr_exon_bases_beyond_it():
    labels = [IG] * 2 + [C] * 6 + [U3] * 2 + [I] * 5 + [U3] * 3 + [IG] * 2
    supported = [0] * 8 + [2, 2] + [-9] * 5 + [1, 1, -4] + [0] * 2
    runs, _ = trim_unsupported_utrs(_runs(labels), _classes(supported), 0.0)
    # intron evidence does not count; the exon beyond it keeps its two supported bases
    assert runs.tolist() == [[0, 2, IG], [2, 8, C], [8, 10, U3], [10, 15, I], [15, 17, U3], [17, 20, IG]]
    unsupported = [0] * 8 + [2, 2] + [9] * 5 + [-1, -1, -4] + [0] * 2
    runs, _ = trim_unsupported_utrs(_runs(labels), _classes(unsupported), 0.0)
    assert runs.tolist() == [[0, 2, IG], [2, 8, C], [8, 10, U3], [10, 20, IG]]


def test_gene_without_coding_bases_is_left_alone():
    labels = [IG] * 3 + [U5] * 4
    runs, trimmed = trim_unsupported_utrs(_runs(labels), _classes([-5] * 7), 0.0)
    assert trimmed == 0 and runs.tolist() == [[0, 3, IG], [3, 7, U5]]


def test_baseline_is_the_median_odds_of_non_coding_bases_and_never_negative():
    baseline = UtrBaseline()
    assert baseline.value() == 0.0
    classes = _classes([4.0] * 7 + [-6.0] * 3)
    coding = np.tile(np.float32([0.05, 0.05, 0.9, 0.0]), (20, 1))  # coding bases do not count
    baseline.add(np.concatenate([classes, coding]))
    assert baseline.bases == 10 and baseline.median() == pytest.approx(4.0, abs=1 / 32)
    assert baseline.value() == baseline.median()
    learnt = UtrBaseline()
    learnt.add(_classes([-7.0] * 8 + [3.0] * 2))
    assert learnt.median() == pytest.approx(-7.0, abs=1 / 32) and learnt.value() == 0.0
