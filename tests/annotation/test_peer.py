"""Oracle checks against upstream (rare-geenuff import, Helixer geenuff2h5), skipped when it is not installed:
the databases are interchangeable, and hold the same features."""

from __future__ import annotations

import gzip
import random
import shutil
import sqlite3
import subprocess
from collections import Counter

import h5py
import numpy as np
import pytest

from helixtune.annotation.export import export_h5
from helixtune.annotation.importer import import_gff
from sharedpaths import peer_python, shared_file

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
    import_gff(micromonas["gff3"], micromonas["fasta"], ours, "Mpusilla", partial_genes="keep")
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


def _mutated_spombe(lines: list[str], seed: int, n_genes: int = 400) -> list[str]:
    """S. pombe gene models with random, realistic damage: every error class of the import is exercised."""
    rng = random.Random(seed)
    genes = []
    for line in lines:
        if line.startswith("#"):
            continue
        columns = line.rstrip("\n").split("\t")
        if columns[2] == "gene":
            genes.append([columns])
        elif genes:
            genes[-1].append(columns)
    for group in genes[:n_genes]:
        gene, mrna = group[0], next(c for c in group if c[2] == "mRNA")
        exons, cds = [c for c in group if c[2] == "exon"], [c for c in group if c[2] == "CDS"]
        r = rng.random()
        if r < 0.1:  # longer gene: overlaps or nests its neighbours
            d = rng.choice([50, 500, 3000, 20000])
            for c in (gene, mrna, exons[-1]):
                c[4] = str(int(c[4]) + d)
        elif r < 0.2:
            d = rng.choice([50, 500, 3000])
            for c in (gene, mrna, exons[0]):
                c[3] = str(max(1, int(c[3]) - d))
        elif r < 0.3:
            rng.choice(cds)[7] = str(rng.choice([0, 1, 2]))
        elif r < 0.4 and len(exons) > 1:  # overlapping exons
            i = rng.randrange(len(exons) - 1)
            exons[i][4] = str(int(exons[i + 1][3]) + rng.choice([0, 5, 30]))
        elif r < 0.5 and len(exons) > 1:  # short intron
            i = rng.randrange(len(exons) - 1)
            exons[i][4] = str(int(exons[i + 1][3]) - rng.choice([2, 10, 19]))
        elif r < 0.6:  # broken start or stop codon
            if rng.random() < 0.5:
                cds[0][3] = str(int(cds[0][3]) + 1)
            else:
                cds[-1][4] = str(int(cds[-1][4]) - 1)
        elif r < 0.7:  # no UTRs
            lo, hi = min(int(c[3]) for c in cds), max(int(c[4]) for c in cds)
            for c in (gene, mrna):
                c[3], c[4] = str(lo), str(hi)
            exons[0][3], exons[-1][4] = str(lo), str(hi)
        elif r < 0.75 and len(exons) > 1:  # hanging intron
            group.remove(exons[0])
    out = ["##gff-version 3\n"]
    for group in genes[:n_genes]:
        for c in group:
            if int(c[3]) > int(c[4]):
                c[3], c[4] = c[4], c[3]
            out.append("\t".join(c) + "\n")
    return out


@pytest.mark.shared
def test_error_detection_matches_upstream_on_damaged_models(tmp_path, upstream_bin, seed=0):
    source = shared_file("schizosaccharomyces_pombe/SP2.chrI.derived.gff3")
    fasta = tmp_path / "genome.fa"
    with gzip.open(shared_file("schizosaccharomyces_pombe/SP2.chr.fa.gz"), "rb") as src, open(fasta, "wb") as dst:
        shutil.copyfileobj(src, dst)
    gff3 = tmp_path / "damaged.gff3"
    gff3.write_text("".join(_mutated_spombe(source.read_text().splitlines(keepends=True), seed)))
    ours, theirs = tmp_path / "ours.sqlite3", tmp_path / "up.sqlite3"
    summary = import_gff(gff3, fasta, ours, "Spombe", partial_genes="keep")
    subprocess.run([str(upstream_bin / "rare-geenuff-import"), "--gff3", str(gff3), "--fasta", str(fasta),
                    "--db-path", str(theirs), "--log-file", str(tmp_path / "up.log"), "--species", "Spombe"],
                   cwd=tmp_path, check=True, capture_output=True)
    # the damage reaches every error class upstream can produce from such files
    assert {t for t, n in summary.errors.items() if n} >= {
        "missing_utr_5p", "missing_utr_3p", "missing_start_codon", "missing_stop_codon", "wrong_starting_phase",
        "mismatched_ending_phase", "overlapping_exons", "too_short_intron", "super_loci_overlap_error",
        "truncated_intron"}
    assert features(ours) == features(theirs)
