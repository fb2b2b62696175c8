"""The quickstart: bundled S. pombe piece, bundled model by name, and `helixtune self-train --example`."""

from __future__ import annotations

import gzip
import json

import pytest

from helixtune.cli import main
from helixtune.data import (EXAMPLE_FILES, SPOMBE_EXAMPLE_FASTA, SPOMBE_EXAMPLE_GFF3, bundled_model_path,
                            example_path, resolve_model_path)
from helixtune.errors import HelixtuneError
from helixtune.genome.fasta import iter_fasta


def _records():
    return {name.decode() if isinstance(name, bytes) else name: seq for name, seq in
            iter_fasta(example_path(SPOMBE_EXAMPLE_FASTA))}


def _gff_rows():
    with gzip.open(example_path(SPOMBE_EXAMPLE_GFF3), "rt") as handle:
        return [line.rstrip("\n").split("\t") for line in handle if not line.startswith("#")]


def test_bundled_piece_is_small_and_its_annotation_lies_inside_it():
    assert example_path(SPOMBE_EXAMPLE_FASTA).stat().st_size + example_path(SPOMBE_EXAMPLE_GFF3).stat().st_size \
        < 300_000
    records = _records()
    assert len(records) == 3 and sum(len(s) for s in records.values()) == 300_515
    rows = _gff_rows()
    assert sum(r[2] == "gene" for r in rows) == 132
    for seqid, _, _, start, end, *_ in rows:
        assert 1 <= int(start) <= int(end) <= len(records[seqid])
    # the coordinates were shifted right: coding sequences start with ATG on either strand in the pieces
    sequences = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in records.items()}
    first_cds = {}
    for seqid, _, kind, start, end, _, strand, _, attributes in rows:
        if kind == "CDS":
            parent = attributes.split("Parent=")[1].split(";")[0]
            position = int(start) if strand == "+" else -int(end)
            if parent not in first_cds or position < first_cds[parent][0]:
                first_cds[parent] = (position, seqid, strand)
    complement = str.maketrans("ACGT", "TGCA")
    codons = [sequences[seqid][p - 1:p + 2] if strand == "+" else
              sequences[seqid][-p - 3:-p].translate(complement)[::-1] for p, seqid, strand in first_cds.values()]
    assert len(codons) == 132 and sum(c == "ATG" for c in codons) >= 130


def test_bundled_piece_is_chromosome_i_at_the_named_positions(shared_data):
    source = shared_data / "schizosaccharomyces_pombe" / "SP2.chr.fa.gz"
    if not source.exists():
        pytest.skip("S. pombe chromosome I not present")
    (_, chromosome), = list(iter_fasta(source))
    for name, sequence in _records().items():
        first, last = (int(x) for x in name.split("_")[1:])
        assert sequence == chromosome[first - 1:last]


def test_example_data_copies_the_pombe_piece(tmp_path, capsys):
    assert main(["example-data", str(tmp_path)]) == 0
    for name in EXAMPLE_FILES:
        assert (tmp_path / name).read_bytes() == example_path(name).read_bytes()
    assert str(tmp_path / SPOMBE_EXAMPLE_FASTA) in capsys.readouterr().out


def test_bundled_model_by_name(tmp_path, monkeypatch):
    path = bundled_model_path()
    assert path.is_file() and resolve_model_path("bundled") == str(path)
    assert resolve_model_path("bundled:fungi_base") == str(path)
    assert resolve_model_path("bundled:base_small") == str(bundled_model_path("base_small"))  # kept by name
    assert resolve_model_path("my_model.safetensors") == "my_model.safetensors"
    with pytest.raises(HelixtuneError, match="no bundled model 'nope'"):
        resolve_model_path("bundled:nope")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bundled").write_bytes(b"")  # a user's own file of that name wins
    assert resolve_model_path("bundled") == "bundled"


def test_unknown_bundled_model_is_a_one_line_error(tmp_path, capsys):
    assert main(["self-train", "--example", "--out", str(tmp_path), "--load-model-path", "bundled:nope"]) == 1
    assert "no bundled model 'nope'" in capsys.readouterr().err


def test_example_without_genome_arguments_only(tmp_path, capsys):
    assert main(["self-train", "--out", str(tmp_path)]) == 1
    assert "--fasta and --load-model-path are required" in capsys.readouterr().err
    assert main(["self-train", "--example", "--fasta", "x.fa", "--out", str(tmp_path)]) == 1


def test_self_train_example_end_to_end_prints_a_true_comparison(tmp_path, capsys):
    """One short epoch: the wiring, the table's numbers (re-measured with evaluate), and the resume."""
    from helixtune.evaluate.compare import evaluate

    out = tmp_path / "run"
    assert main(["self-train", "--example", "--out", str(out), "--epochs", "1"]) == 0
    printed = capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    assert report["pseudolabels"]["training_rows"] > 0 and report["pseudolabels"]["validation_rows"] > 0
    state = json.loads((out / "state.json").read_text())
    assert state["steps"]["fine-tune"]  # the tuned model was trained here ...
    # ... on the base model's own decoded genes: the labels come from base/annotation.gff3, not the reference
    assert state["steps"]["import + export pseudolabels"]["summary"]
    reference = out / "reference.gff3"
    assert reference.read_bytes() == gzip.decompress(example_path(SPOMBE_EXAMPLE_GFF3).read_bytes())
    for name in ("base", "tuned"):
        scores = evaluate(str(reference), str(out / name / "annotation.gff3"), fasta=str(example_path(
            SPOMBE_EXAMPLE_FASTA)))
        genic = scores["basewise"]["genic_base_wise"]["scores"]["genic"]["f1"]
        gene = scores["features"]["gene"]["f1"]
        assert report["models"][name]["versus_reference"]["gene_f1"] == pytest.approx(gene)
        assert f"{genic:.4f}" in printed and f"{gene:.4f}" in printed
        genes = sum(1 for line in open(out / name / "annotation.gff3") if "\tgene\t" in line)
        assert report["models"][name]["genes"] == genes
    assert "genes (reference: 132)" in printed and "Verdict:" in printed

    # a rerun skips every step and prints the same comparison
    assert main(["self-train", "--example", "--out", str(out), "--epochs", "1"]) == 0
    again = capsys.readouterr()
    assert again.out == printed
    assert "running" not in again.err


def test_example_settings_yield_only_to_options_given(tmp_path, monkeypatch):
    """--example uses its own settings, except where the command line names another value (even the
    plain self-train default)."""
    import helixtune.pipelines.example as example

    seen = {}

    def fake_run(out_dir, model, options):
        seen.update(model=model, options=options)
        raise HelixtuneError("stop here")

    monkeypatch.setattr(example, "run_example", fake_run)
    assert main(["self-train", "--example", "--out", str(tmp_path)]) == 1
    assert seen["model"] == "bundled"
    assert seen["options"].learning_rate == example.EXAMPLE_LEARNING_RATE
    assert seen["options"].decode.peak_threshold == example.EXAMPLE_PEAK_THRESHOLD
    assert seen["options"].subsequence_length == example.EXAMPLE_SUBSEQUENCE_LENGTH
    assert seen["options"].keep_fraction == example.EXAMPLE_KEEP_FRACTION
    assert seen["options"].mask_implausible_genes
    # values named on the command line win
    assert main(["self-train", "--example", "--out", str(tmp_path), "--learning-rate", "1e-4",
                 "--peak-threshold", "0.7", "--keep-fraction", "0.2", "--epochs", "2",
                 "--keep-implausible-genes"]) == 1
    options = seen["options"]
    assert (options.learning_rate, options.decode.peak_threshold, options.keep_fraction, options.epochs) == \
        (1e-4, 0.7, 0.2, 2)
    assert not options.mask_implausible_genes


def test_example_verdict_names_what_changed_and_what_did_not():
    from helixtune.pipelines.example import example_verdict

    def scores(genic_base, genic_tuned, gene_base, gene_tuned):
        return {"base": {"genic_f1_basewise": genic_base, "gene_f1": gene_base},
                "tuned": {"genic_f1_basewise": genic_tuned, "gene_f1": gene_tuned}}

    text = example_verdict(scores(0.5106, 0.5637, 0.0578, 0.0625))
    assert text.startswith("Verdict: self-training improved genic F1 on this piece; gene F1 unchanged")
    assert "genic F1 0.511 -> 0.564, gene F1 0.058 -> 0.062" in text
    assert "improved genic F1 and gene F1" in example_verdict(scores(0.5, 0.6, 0.05, 0.08))
    assert "did NOT help" in example_verdict(scores(0.09, 0.01, 0.0, 0.0))
    assert "mixed result" in example_verdict(scores(0.5, 0.6, 0.08, 0.05))
    assert "changed nothing" in example_verdict(scores(0.5, 0.501, 0.05, 0.051))
