"""Real HelixerPost reads our predictions file and writes the same GFF3 as from upstream's predictions file.

Needs the HelixerPost peer and upstream's full prediction file (shared data); skipped when either is absent.
The briefly trained reference models only call genes with a lower peak threshold (0.5), on S. pombe.
"""

from __future__ import annotations

import subprocess

import pytest

from helixtune.cli import main
from sharedpaths import peer_python

pytestmark = pytest.mark.peer

RUN = ("import sys, helixerpost; "
       "helixerpost.run_helixer_post(sys.argv[1], sys.argv[2], 100, 0.1, 0.5, 60, sys.argv[3])")


def _helixerpost(python, genome, predictions, out):
    subprocess.run([str(python), "-c", RUN, str(genome), str(predictions), str(out)], check=True,
                   capture_output=True, timeout=300)
    # the '# <md5>  <model path>' header line names the model file's path: compare everything else
    lines = out.read_text().splitlines()
    return [line for line in lines if not line.startswith("# ")]


def test_helixerpost_gff3_from_our_predictions_equals_upstream(tmp_path, model_dir, shared_data):
    python = peer_python("helixerpost")
    if python is None:
        pytest.skip("HelixerPost peer not installed")
    upstream = shared_data / "reference_models" / "small_default_ftcov.predictions.h5"
    if not upstream.exists():
        pytest.skip("upstream prediction file not available")
    genome = model_dir / "spombe_cov_test.h5"
    ours = tmp_path / "ours_036.h5"
    assert main(["predict", "-l", str(model_dir / "small_default_ftcov.h5"), "--coverage-norm", "log",
                 "-t", str(genome), "-p", str(ours), "--padded-minus-layout", "helixer-0.3.6"]) == 0
    expected = _helixerpost(python, genome, upstream, tmp_path / "upstream.gff3")
    got = _helixerpost(python, genome, ours, tmp_path / "ours.gff3")
    assert sum("\tgene\t" in line for line in expected) > 5
    assert got == expected
