"""The commands end to end, and the other real annotations (TAIR, WormBase, FlyBase) import and export."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from helixtune.annotation.pipeline import gff_to_h5
from helixtune.cli import main
from sharedpaths import shared_file


def test_gff2h5_command_matches_upstream_and_prints_summary(tmp_path, micromonas, capsys):
    out = tmp_path / "labels.h5"
    status = main(["gff2h5", "--gff3", str(micromonas["gff3"]), "--fasta", str(micromonas["fasta"]),
                   "--species", "Mpusilla", "--h5-output-path", str(out), "--partial-genes", "keep"])
    printed = capsys.readouterr().out
    assert status == 0
    assert "genes 124" in printed and "masked (sample weight 0): 165,863 bases = 31.9%" in printed
    assert "genes per error class: missing_utr_5p 65, missing_utr_3p 70" in printed
    assert [p.name for p in tmp_path.iterdir()] == ["labels.h5"]  # the temporary database is gone
    with h5py.File(out) as ours, h5py.File(micromonas["reference"]) as ref:
        for name in ("y", "phases", "transitions", "sample_weights", "gene_lengths"):
            assert np.array_equal(ours[f"data/{name}"][:], ref[f"data/{name}"][:]), name


def test_import_then_export_commands_without_x(tmp_path, micromonas, capsys):
    db = tmp_path / "a.sqlite3"
    assert main(["import", "--gff3", str(micromonas["gff3"]), "--fasta", str(micromonas["fasta"]),
                 "--species", "Mpusilla", "--db-path", str(db), "--log-file", str(tmp_path / "import.log"),
                 "--partial-genes", "keep"]) == 0
    log = (tmp_path / "import.log").read_text()
    assert "marked as erroneous: seqid: NW_003315902.1" in log and "with type: missing_utr_5p" in log
    assert main(["export", "--input-db-path", str(db), "--h5-output-path", str(tmp_path / "a.h5"),
                 "--modes", "y,anno_meta,transitions", "--subsequence-length", "20000"]) == 0
    with h5py.File(tmp_path / "a.h5") as h5:
        assert "data/X" not in h5 and h5["data/y"].shape == (30, 20000, 4)  # upstream's mini file layout
    # X from a FASTA: checked against the database's sequences
    assert main(["export", "--input-db-path", str(db), "--h5-output-path", str(tmp_path / "f.h5"),
                 "--fasta", str(micromonas["fasta"])]) == 0
    with h5py.File(tmp_path / "f.h5") as h5, h5py.File(micromonas["reference"]) as ref:
        assert np.array_equal(h5["data/X"][:], ref["data/X"][:])
    other = tmp_path / "other.fa"
    other.write_text(">NW_003315900.1\nACGT\n")
    assert main(["export", "--input-db-path", str(db), "--h5-output-path", str(tmp_path / "g.h5"),
                 "--fasta", str(other)]) == 1
    assert "sequence 'NW_003315900.1' differs from the one in the database" in capsys.readouterr().err
    assert not (tmp_path / "g.h5").exists()
    assert main(["export", "--input-db-path", str(tmp_path / "missing.sqlite3"),
                 "--h5-output-path", str(tmp_path / "b.h5")]) == 1
    assert "missing.sqlite3: no such file" in capsys.readouterr().err


SPECIES = {
    # name: (GFF3, FASTA, genes, coding transcripts)
    "athaliana": ("arabidopsis_thaliana/athaliana_1pct.gff3", "arabidopsis_thaliana/athaliana_1pct.fa", 380, 459),
    "celegans": ("caenorhabditis_elegans/celegans_1pct.gff3", "caenorhabditis_elegans/celegans_1pct.fa", 260, 295),
    "dmelanogaster": ("drosophila_melanogaster/dmel_1pct.korflab.gff3",
                      "drosophila_melanogaster/dmel_1pct.korflab.fa", 108, 235),
}


@pytest.mark.shared
@pytest.mark.parametrize("species", list(SPECIES))
def test_other_species_import_and_export(tmp_path, species):
    gff3, fasta, n_genes, n_coding = SPECIES[species]
    imported, exported = gff_to_h5(shared_file(gff3), shared_file(fasta), tmp_path / "x.h5", species)
    assert (imported.n_genes, imported.n_coding_transcripts) == (n_genes, n_coding)
    assert exported.class_bases[2] > 0 and exported.class_bases[3] > 0  # CDS and introns were labelled
    assert exported.n_masked / exported.n_bases < 0.25


def test_decoded_gff3_round_trips_to_the_reference_labels(tmp_path, micromonas, test_data):
    """The self-train use: HelixerPost's GFF3 (decoded from the reference labels) back into training matrices."""
    decoded = test_data / "annotation" / "micromonas_mini.helixerpost_on_reference_labels.gff3"
    imported, exported = gff_to_h5(decoded, micromonas["fasta"], tmp_path / "pseudo.h5", "Mpusilla")
    assert imported.n_genes == 124 and exported.n_masked / exported.n_bases < 0.02
    with h5py.File(tmp_path / "pseudo.h5") as ours, h5py.File(micromonas["reference"]) as ref:
        real = ref["data/y"][:].any(axis=-1)
        same_class = ours["data/y"][:].argmax(-1) == ref["data/y"][:].argmax(-1)
        same_phase = ours["data/phases"][:].argmax(-1) == ref["data/phases"][:].argmax(-1)
    assert same_class[real].mean() > 0.998 and same_phase[real].mean() > 0.998


def test_fasta_order_lines_up_with_genome_files(tmp_path, micromonas, test_data):
    """--sequence-order fasta: rows in the order of encode/fasta2h5 genome files (and predictions on them)."""
    out = tmp_path / "fasta_order.h5"
    assert main(["gff2h5", "--gff3", str(micromonas["gff3"]), "--fasta", str(micromonas["fasta"]),
                 "--species", "Mpusilla", "--h5-output-path", str(out), "--sequence-order", "fasta",
                 "--partial-genes", "keep"]) == 0
    genome = test_data / "micromonas" / "micromonas_mini.fasta2h5.h5"
    with h5py.File(out) as ours, h5py.File(genome) as fasta2h5, h5py.File(micromonas["reference"]) as ref:
        for name in ("X", "seqids", "start_ends"):
            assert np.array_equal(ours[f"data/{name}"][:], fasta2h5[f"data/{name}"][:]), name
        assert not np.array_equal(ref["data/seqids"][:], fasta2h5["data/seqids"][:])  # upstream's order differs
        # the same rows as upstream's labels, only in another order
        order = {(s, tuple(se)): i for i, (s, se) in enumerate(zip(ref["data/seqids"][:], ref["data/start_ends"][:]))}
        rows = [order[(s, tuple(se))] for s, se in zip(ours["data/seqids"][:], ours["data/start_ends"][:])]
        for name in ("y", "phases", "sample_weights", "transitions", "gene_lengths"):
            assert np.array_equal(ours[f"data/{name}"][:], ref[f"data/{name}"][:][rows]), name
