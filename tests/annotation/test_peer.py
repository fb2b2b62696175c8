"""Oracle checks against upstream (rare-geenuff import, Helixer geenuff2h5), skipped when it is not installed:
the databases are interchangeable, and hold the same features."""

from __future__ import annotations

import sqlite3
import subprocess
from collections import Counter

import h5py
import numpy as np
import pytest

from helixtune.annotation.export import export_h5
from helixtune.annotation.importer import import_gff
from tests.conftest import peer_python

pytestmark = pytest.mark.peer

FEATURES = """SELECT t.given_name, t.longest, f.type, f.start, f."end", f.is_plus_strand, f.phase,
                     f.start_is_biological_start, f.end_is_biological_end, c.seqid
              FROM feature f JOIN association_transcript_piece_to_feature a ON a.feature_id = f.id
              JOIN transcript_piece p ON p.id = a.transcript_piece_id JOIN transcript t ON t.id = p.transcript_id
              JOIN coordinate c ON c.id = f.coordinate_id"""


@pytest.fixture(scope="module")
def upstream_bin():
    python = peer_python("helixer")
    if python is None or not (python.parent / "rare-geenuff-import").exists():
        pytest.skip("upstream Helixer peer not installed")
    return python.parent


def features(db) -> Counter:
    with sqlite3.connect(db) as connection:
        return Counter(tuple(row) for row in connection.execute(FEATURES))


def test_databases_hold_the_same_features_and_are_interchangeable(tmp_path, micromonas, upstream_bin):
    ours, theirs = tmp_path / "ours.sqlite3", tmp_path / "up.sqlite3"
    import_gff(micromonas["gff3"], micromonas["fasta"], ours, "Mpusilla")
    subprocess.run([str(upstream_bin / "rare-geenuff-import"), "--gff3", str(micromonas["gff3"]), "--fasta",
                    str(micromonas["fasta"]), "--db-path", str(theirs), "--log-file", str(tmp_path / "up.log"),
                    "--species", "Mpusilla"], cwd=tmp_path, check=True, capture_output=True)
    assert features(ours) == features(theirs)  # every feature, error and biological-end flag
    # upstream's exporter reads our database; ours reads upstream's; all give the reference arrays
    subprocess.run([str(upstream_bin / "python"), str(upstream_bin / "geenuff2h5.py"), "--input-db-path", str(ours),
                    "--h5-output-path", str(tmp_path / "up_on_ours.h5")], cwd=tmp_path, check=True,
                   capture_output=True)
    export_h5(theirs, tmp_path / "ours_on_up.h5")
    with h5py.File(micromonas["reference"]) as ref:
        for produced in ("up_on_ours.h5", "ours_on_up.h5"):
            with h5py.File(tmp_path / produced) as h5:
                for name in ("X", "y", "phases", "transitions", "sample_weights", "gene_lengths", "start_ends"):
                    assert np.array_equal(h5[f"data/{name}"][:], ref[f"data/{name}"][:]), (produced, name)
