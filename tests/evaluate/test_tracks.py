"""Per-base windows read from h5 rows in genome order, on both strands (the row <-> genome mapping)."""

from __future__ import annotations

import numpy as np

from helixtune.data import SPOMBE_EXAMPLE_FASTA, example_path
from helixtune.evaluate.tracks import window_from_h5
from helixtune.genome.encode import encode_fasta
from helixtune.genome.fasta import iter_fasta

ONE_HOT_ORDER = b"CATG"  # data/X columns
COMPLEMENT_COLUMNS = [3, 2, 1, 0]  # C<->G, A<->T


def test_windows_across_chunk_borders_follow_the_genome_on_both_strands(tmp_path):
    fasta = example_path(SPOMBE_EXAMPLE_FASTA)
    seqid, sequence = next(iter(iter_fasta(fasta)))
    genome = tmp_path / "genome.h5"
    encode_fasta(fasta, genome, "Spombe", subsequence_length=9990, threads=1)
    start, end = 9990 - 40, 2 * 9990 + 25  # spans three chunks of each strand
    plus = window_from_h5(genome, "data/X", seqid, "+", start, end)
    minus = window_from_h5(genome, "data/X", seqid, "-", start, end)
    expected = np.array([[float(base == code) for code in ONE_HOT_ORDER] for base in sequence[start:end].upper()])
    assert plus.shape == minus.shape == (end - start, 4)
    assert np.array_equal(plus, expected)
    # the minus strand holds the reverse complement: in genome order, each base's complement
    assert np.array_equal(minus, expected[:, COMPLEMENT_COLUMNS])
    # the sequence's last bases: the minus strand's padded chunk holds them first, padding after
    tail = window_from_h5(genome, "data/X", seqid, "-", len(sequence) - 30, len(sequence))
    last = np.array([[float(base == code) for code in ONE_HOT_ORDER] for base in sequence[-30:].upper()])
    assert np.array_equal(tail, last[:, COMPLEMENT_COLUMNS])
