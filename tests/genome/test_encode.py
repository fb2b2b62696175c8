"""`helixtune encode` against upstream fasta2h5 outputs, and its handling of bad input."""

from __future__ import annotations

import gzip
import shutil

import h5py
import numpy as np
import pytest

from sharedpaths import shared_file
from helixtune import h5layout
from helixtune.cli import main
from helixtune.genome.chunks import chunk_start_ends, cut_strand
from helixtune.genome.encode import encode_fasta, encode_sequence

MINI_FASTA = "micromonas/mini_test_data.fa"
MINI_REFERENCE = "micromonas/micromonas_mini.fasta2h5.h5"


def assert_same_datasets(ours, reference, names=("X", "seqids", "species", "start_ends")):
    with h5py.File(ours) as a, h5py.File(reference) as b:
        for name in names:
            x, y = a[f"data/{name}"], b[f"data/{name}"]
            assert x.dtype == y.dtype, name
            assert x.shape == y.shape, name
            assert x.chunks == y.chunks, name
            assert x.maxshape == y.maxshape, name
            assert x.shuffle == y.shuffle, name
            assert np.array_equal(x[:], y[:]), name


def test_micromonas_equals_upstream(test_data, tmp_path):
    out = tmp_path / "mini.h5"
    summary = encode_fasta(test_data / MINI_FASTA, out, "Mpusilla")
    assert (summary.n_sequences, summary.n_bases, summary.n_chunks) == (3, 260116, 28)
    assert_same_datasets(out, test_data / MINI_REFERENCE)
    with h5py.File(out) as h5:
        assert h5["data/X"].compression == "gzip" and h5["data/X"].compression_opts == 4


def test_gzip_input_and_lzf_output_give_the_same_values(test_data, tmp_path):
    gz = tmp_path / "mini.fa.gz"
    with open(test_data / MINI_FASTA, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    out = tmp_path / "mini_lzf.h5"
    encode_fasta(gz, out, "Mpusilla", compression="lzf", threads=1)
    with h5py.File(out) as a, h5py.File(test_data / MINI_REFERENCE) as b:
        assert a["data/X"].compression == "lzf"
        for name in ("X", "seqids", "start_ends"):
            assert np.array_equal(a[f"data/{name}"][:], b[f"data/{name}"][:])


def test_spombe_chromosome_equals_upstream(tmp_path):
    fasta = shared_file("schizosaccharomyces_pombe/SP2.chr.fa.gz")
    reference = shared_file("reference_outputs/spombe_chrI.fasta2h5.h5")
    out = tmp_path / "spombe.h5"
    encode_fasta(fasta, out, "Spombe")
    assert_same_datasets(out, reference)


def test_other_subsequence_length_equals_older_upstream_file(tmp_path):
    # Helixer's own older export of the same scaffolds, 20,000 bp subsequences
    reference = shared_file("micromonas_pusilla/mini_test_data.helixer_repo.h5")
    fasta = shared_file("micromonas_pusilla/mini_test_data.fa")
    out = tmp_path / "mini20k.h5"
    encode_fasta(fasta, out, "MpusillaCCMP1545", subsequence_length=20000)
    # that file names the scaffolds by their assembly names, given in the FASTA descriptions
    names = {line.split()[0][1:]: line.split()[-5].replace(b"MICPUC", b"").rstrip(b",")
             for line in fasta.read_bytes().splitlines() if line.startswith(b">")}
    with h5py.File(out) as a, h5py.File(reference) as b:
        # and orders sequences by length (it came from an annotation export): compare chunk by chunk
        ours = {(names[s], tuple(se)): x
                for s, se, x in zip(a["data/seqids"][:], a["data/start_ends"][:], a["data/X"][:])}
        compared = 0
        for s, se, x in zip(b["data/seqids"][:], b["data/start_ends"][:], b["data/X"]):
            if s == b"scaffold_19":  # 247,685 bp there: an older assembly version than this FASTA's 245,704 bp
                continue
            assert np.array_equal(ours[(s, tuple(se))], x)
            compared += 1
        assert compared == 4


def test_minimum_sequence_length_drops_short_records(test_data, tmp_path):
    out = tmp_path / "long_only.h5"
    summary = encode_fasta(test_data / MINI_FASTA, out, "Mpusilla", min_sequence_length=6000)
    assert summary.skipped_short == ["NW_003315902.1"]
    with h5py.File(out) as a, h5py.File(test_data / MINI_REFERENCE) as b:
        # the 5,431 bp scaffold comes first in the FASTA: its two rows are the ones dropped
        assert np.array_equal(a["data/X"][:], b["data/X"][2:])
        assert np.array_equal(a["data/start_ends"][:], b["data/start_ends"][2:])


def test_chunk_layout_matches_upstream_example():
    # spec example: S = 51321, L = 21384
    expected = [[0, 21384], [21384, 42768], [42768, 51321], [51321, 42768], [42768, 21384], [21384, 0]]
    assert chunk_start_ends(51321, 21384).tolist() == expected


def test_minus_chunks_are_reverse_complements_with_padding_at_the_end(test_data):
    with h5py.File(test_data / MINI_REFERENCE) as h5:
        x = h5["data/X"][:]
        start_ends = h5["data/start_ends"][:]
    # the 5,431 bp scaffold, first in the FASTA: rows 0 (plus) and 1 (minus)
    plus, minus = x[0], x[1]
    n = int(abs(start_ends[1, 0] - start_ends[1, 1]))
    assert n == 5431
    assert np.array_equal(minus[:n], plus[:n][::-1, ::-1])
    assert not minus[n:].any()
    whole = plus[:n]
    assert np.array_equal(cut_strand(whole, 21384, minus=True, flip_columns=True)[0], minus)


def test_iupac_codes_as_upstream():
    x = encode_sequence(b"GATCNYRwskmDVHB")
    assert x.dtype == np.float16
    assert x[:4].tolist() == [[0, 0, 0, 1], [0, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 0]]
    assert x[4].tolist() == [0.25] * 4
    assert x[5].tolist() == [0.5, 0, 0.5, 0]  # Y = C/T
    assert np.float16(0.33) == x[11][1]  # D: 0.33 stored as float16
    # complement by reversing columns maps Y <-> R
    assert np.array_equal(x[5][::-1], x[6])


def _run_cli(argv, capsys):
    status = main(argv)
    err = capsys.readouterr().err.strip()
    return status, err


def _write(path, content: bytes):
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("case", ["missing", "empty", "not_fasta", "duplicate", "bad_char", "truncated_gzip"])
def test_bad_input_gives_one_line_error_and_no_output(case, test_data, tmp_path, capsys):
    real = (test_data / MINI_FASTA).read_bytes()
    if case == "missing":
        fasta, expected = tmp_path / "absent.fa", "no such file"
    elif case == "empty":
        fasta, expected = _write(tmp_path / "empty.fa", b""), "empty"
    elif case == "not_fasta":
        fasta, expected = test_data / "micromonas" / "mini_test_data.gff", "not a FASTA file"
    elif case == "duplicate":
        first = real.split(b">")[1]
        fasta, expected = _write(tmp_path / "dup.fa", real + b">" + first), "duplicate sequence id 'NW_003315902.1'"
    elif case == "bad_char":
        lines = real.splitlines(keepends=True)
        lines[3] = lines[3][:10] + b"U" + lines[3][11:]
        fasta, expected = _write(tmp_path / "u.fa", b"".join(lines)), "line 4: invalid character 'U'"
    else:
        compressed = gzip.compress(real)
        fasta, expected = _write(tmp_path / "cut.fa.gz", compressed[: len(compressed) // 2]), "truncated gzip"
    out = tmp_path / "out" / "genome.h5"
    status, err = _run_cli(["encode", "--fasta-path", str(fasta), "--h5-output-path", str(out),
                            "--species", "Mpusilla"], capsys)
    assert status != 0
    assert len(err.splitlines()) == 1 and expected in err and str(fasta) in err
    assert not out.exists()
    leftovers = list(out.parent.iterdir()) if out.parent.exists() else []
    assert leftovers == []


def test_cli_encode_and_alias(test_data, tmp_path, capsys):
    out = tmp_path / "genome.h5"
    status, err = _run_cli(["fasta2h5", "--fasta-path", str(test_data / MINI_FASTA), "--h5-output-path", str(out),
                            "--species", "Mpusilla"], capsys)
    assert status == 0 and "28 subsequences" in err
    assert_same_datasets(out, test_data / MINI_REFERENCE)
    with h5py.File(out) as h5:
        h5layout.require_datasets(h5, h5layout.GENOME_DATASETS)


def test_written_fasta_reads_back_as_the_same_records(tmp_path):
    """write_fasta (what the study and bench scripts cut genomes with) round-trips real sequence."""
    from helixtune.data import example_path
    from helixtune.genome.fasta import iter_fasta, write_fasta

    records = list(iter_fasta(example_path("spombe_pieces.fa.gz")))
    path = tmp_path / "copy.fa"
    write_fasta(path, [(name, sequence) for name, sequence in records[:2]] + [("text", records[2][1].decode())],
                width=70)
    again = list(iter_fasta(path))
    assert [name for name, _ in again] == [records[0][0], records[1][0], "text"]
    assert [sequence for _, sequence in again] == [sequence for _, sequence in records]
    lines = path.read_text().splitlines()
    assert max(len(line) for line in lines) == 70 and not list(tmp_path.glob("*.tmp*"))
