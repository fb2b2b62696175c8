"""Byte-identical GFF3 to HelixerPost on its example, the oracle fixtures and reference-label predictions."""

from __future__ import annotations

import re

import pytest

from helixtune.decode import decode_to_gff3
from helixtune.decode.label_predictions import write_label_predictions

from sharedpaths import shared_file

FIXTURE_NAME = re.compile(r"expected_(fx\d+)_(HEAD|OLD)_w(\d+)_e([\d.]+)_p([\d.]+)_m(\d+)\.gff3")
COST_MODEL = {"HEAD": "head", "OLD": "b674af9"}


def decode_and_compare(genome, predictions, expected, tmp_path, **options):
    out = tmp_path / "out.gff3"
    summary = decode_to_gff3(genome, predictions, out, show_progress=False, **options)
    assert out.read_bytes() == expected.read_bytes()
    return summary


def test_upstream_example(test_data, tmp_path):
    data = test_data / "decode"
    summary = decode_and_compare(data / "example_genome_data.h5", data / "example_predictions.h5",
                                 data / "example_expected.gff3", tmp_path)
    assert (summary.regions, summary.genes) == (1, 1)


@pytest.mark.parametrize("expected_name", [
    "expected_fx101_HEAD_w100_e0.1_p0.8_m60.gff3", "expected_fx101_HEAD_w50_e0.05_p0.5_m30.gff3",
    "expected_fx101_OLD_w100_e0.1_p0.8_m60.gff3", "expected_fx101_OLD_w50_e0.05_p0.5_m30.gff3"])
def test_oracle_fixture(test_data, tmp_path, expected_name):
    fixture, variant, window, edge, peak, min_coding = FIXTURE_NAME.fullmatch(expected_name).groups()
    data = test_data / "decode"
    decode_and_compare(data / f"{fixture}_genome.h5", data / f"{fixture}_predictions.h5", data / expected_name,
                       tmp_path, window_size=int(window), edge_threshold=float(edge), peak_threshold=float(peak),
                       min_coding_length=int(min_coding), cost_model=COST_MODEL[variant])


@pytest.mark.shared
def test_every_shared_oracle_fixture(shared_data, tmp_path):
    """All fixtures of the shared folder (fx102 is not copied into tests/data)."""
    folder = shared_data / "helixerpost_fixtures"
    expected_files = sorted(folder.glob("expected_fx*.gff3"))
    assert len(expected_files) >= 8
    for expected in expected_files:
        fixture, variant, window, edge, peak, min_coding = FIXTURE_NAME.fullmatch(expected.name).groups()
        decode_and_compare(folder / f"{fixture}_genome.h5", folder / f"{fixture}_predictions.h5", expected, tmp_path,
                           window_size=int(window), edge_threshold=float(edge), peak_threshold=float(peak),
                           min_coding_length=int(min_coding), cost_model=COST_MODEL[variant], threads=2)


def test_the_old_variant_differs_from_head(test_data, tmp_path):
    """The cost-model option matters: the fixture's HEAD and OLD outputs differ and each needs its model."""
    data = test_data / "decode"
    out = tmp_path / "old.gff3"
    decode_to_gff3(data / "fx101_genome.h5", data / "fx101_predictions.h5", out, cost_model="b674af9",
                   show_progress=False)
    assert out.read_bytes() != (data / "expected_fx101_HEAD_w100_e0.1_p0.8_m60.gff3").read_bytes()


def test_micromonas_reference_labels(test_data, tmp_path):
    """Predictions re-derived from the geenuff2h5 labels, as the reference output was made."""
    labels = test_data / "micromonas" / "micromonas_mini.geenuff2h5.h5"
    predictions = tmp_path / "label_predictions.h5"
    write_label_predictions(labels, predictions)
    summary = decode_and_compare(labels, predictions,
                                 test_data / "decode" / "micromonas_mini.helixerpost_on_reference_labels.gff3",
                                 tmp_path, threads=2)
    assert summary.sequences == 3 and summary.genes == 124


@pytest.mark.shared
def test_spombe_chromosome_one_reference_labels(tmp_path):
    labels = shared_file("reference_outputs/spombe_chrI.geenuff2h5_with_rnaseq.h5")
    expected = shared_file("reference_outputs/spombe_chrI.helixerpost_on_reference_labels.gff3")
    predictions = tmp_path / "label_predictions.h5"
    write_label_predictions(labels, predictions)
    summary = decode_and_compare(labels, predictions, expected, tmp_path, threads=2)
    assert summary.genes == 2310
