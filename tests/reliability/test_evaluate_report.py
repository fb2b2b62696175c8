"""evaluate with a GFF3 reference, --probabilities and --genome-h5 writes its report (it used to raise KeyError)."""

from __future__ import annotations

import h5py

from clirun import assert_clean_failure, leftovers, run_helixtune


def test_probabilities_are_placed_with_the_genome_h5(work):
    result = run_helixtune("evaluate", "-r", "reference.gff3", "-p", "decoded.gff3", "--probabilities",
                           "predictions.h5", "--genome-h5", "genome.h5", "--report", "report", cwd=work)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    made = {p.name for p in (work / "report").iterdir()}
    assert {"report.html", "metrics.json", "locus_1.png"} <= made and not leftovers(work)


def test_probabilities_without_coordinates_are_refused_before_writing(work):
    with h5py.File(work / "predictions.h5", "r+") as h5:
        h5.attrs["test_data_path"] = str(work / "gone.h5")  # the genome file predict recorded no longer exists
    result = run_helixtune("evaluate", "-r", "reference.gff3", "-p", "decoded.gff3", "--probabilities",
                           "predictions.h5", "--report", "report", cwd=work)
    line = assert_clean_failure(result, 1, mentions="predictions.h5: has no seqids/start_ends")
    assert "--genome-h5" in line
    assert not (work / "report").exists() and not leftovers(work)
