"""annotate and self-train end to end on two short real scaffolds, with an upstream model; resuming; the gate."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from sharedpaths import shared_file

from helixtune.errors import HelixtuneError
from helixtune.genome.fasta import iter_fasta
from helixtune.pipelines.annotate import annotate, choose_subsequence_length, default_species
from helixtune.pipelines.self_train import DegenerateLabels, SelfTrainOptions, self_train

SHORT_SCAFFOLDS = ("NW_003315901.1", "NW_003315902.1")  # 8,981 and 5,431 bp of the Micromonas test genome
LENGTH = 1998  # a multiple of the pool size 9, so the two scaffolds give 16 subsequences
SLICE = "spombe_chrI_200000-240000.fa"
REFERENCE = "spombe_chrI_200000-240000.reference.gff3"
BASE_MODEL = "spombe_small_base.safetensors"


@pytest.fixture
def small_genome(test_data, tmp_path):
    path = tmp_path / "two_scaffolds.fa"
    with open(path, "w") as out:
        for seqid, sequence in iter_fasta(test_data / "micromonas" / "mini_test_data.fa"):
            if seqid in SHORT_SCAFFOLDS:
                out.write(f">{seqid}\n{sequence.decode()}\n")
    return path


def test_subsequence_length_and_species_defaults():
    assert choose_subsequence_length(None, "land_plant", None, 9) == 64152
    assert choose_subsequence_length(None, None, None, 9) == 21384
    with pytest.raises(HelixtuneError, match="multiple of the model's pool size"):
        choose_subsequence_length(1000, None, None, 9)
    assert default_species("/x/Spombe.chrI.fa.gz") == "Spombe.chrI"


def test_annotate_writes_gff3_and_removes_temporary_files(test_data, tmp_path):
    model, genome = test_data / "pseudolabel" / BASE_MODEL, test_data / "pseudolabel" / SLICE
    out = tmp_path / "out" / "slice.gff3"
    summary = annotate(genome, model, out, species="Spombe", subsequence_length=9990, threads=1)
    text = out.read_text().splitlines()
    assert text[:2] == ["##gff-version 3.2.1", "##species Spombe"]
    assert "##sequence-region chrI_200000_240000 1 40000" in text
    assert summary.genes > 0 and summary.genes == sum(1 for line in text if "\tgene\t" in line)
    assert [p.name for p in out.parent.iterdir()] == ["slice.gff3"]  # the temporary directory is gone
    with pytest.raises(HelixtuneError, match="takes no coverage input"):
        annotate(genome, model, tmp_path / "x.gff3", bam=[genome], strandedness="unstranded")
    assert not (tmp_path / "x.gff3").exists()


def test_self_train_end_to_end_resumes_after_interruption(test_data, tmp_path, monkeypatch, capsys):
    """40 kbp of S. pombe with a small base model: the whole loop, interrupted during fine-tuning (as by Ctrl-C)
    and run again, finishing without redoing the completed steps; then a report against the reference."""
    import helixtune.train.run as train_run

    data = test_data / "pseudolabel"
    out = tmp_path / "run"
    options = SelfTrainOptions(species="Spombe", subsequence_length=9990, overlap=False, keep_fraction=0.75,
                               region_bp=9990, epochs=1, threads=1, reference_gff=str(data / REFERENCE))
    calls = []

    def interrupted(config):
        calls.append(config)
        raise KeyboardInterrupt

    monkeypatch.setattr(train_run, "train_model", interrupted)
    with pytest.raises(KeyboardInterrupt):
        self_train(data / SLICE, data / BASE_MODEL, out, options)
    assert len(calls) == 1 and calls[0].fine_tune_mode == "whole"
    monkeypatch.undo()
    state = json.loads((out / "state.json").read_text())
    done = ["encode", "predict (base model)", "decode (base model)", "import + export pseudolabels",
            "select-confident", "split"]
    assert list(state["steps"]) == done
    assert (out / "pseudolabels" / "selection.png").exists()

    result = self_train(data / SLICE, data / BASE_MODEL, out, options)
    assert result.skipped_steps == done
    assert result.run_steps == ["fine-tune", "predict (tuned model)", "decode (tuned model)", "report"]
    assert "[1/10] encode: complete, skipped" in capsys.readouterr().err
    report = json.loads((out / "report.json").read_text())
    assert report["models"]["base"]["genes"] > 0 and report["pseudolabels"]["kept"] == 7  # floor(10 x 0.75)
    assert report["pseudolabels"]["validation_rows"] > 0
    # every decoded gene was checked; the masked ones are counted with their reasons, the introns as well
    masked = state["steps"]["import + export pseudolabels"]["summary"]["checks"]
    assert masked["genes"] == report["models"]["base"]["genes"] == report["pseudolabels"]["decoded_genes"]
    assert report["pseudolabels"]["implausible_genes_masked"] == masked["genes_masked"]
    assert masked["genes_masked"] <= sum(masked["reasons"].values())  # reasons count transcripts
    assert report["pseudolabels"]["introns_relabelled_cds"] == masked["introns_relabelled_cds"]
    assert (masked["bases_relabelled_cds"] > 0) == (masked["introns_relabelled_cds"] > 0)
    for name in ("base", "tuned"):
        assert 0 < report["models"][name]["confidence"]["mean_max_probability"] <= 1
        assert 0 <= report["models"][name]["versus_reference"]["gene_f1"] <= 1
    assert "vs reference" in (out / "report.md").read_text()
    # a third run does nothing; a changed option reruns from the step it affects
    assert self_train(data / SLICE, data / BASE_MODEL, out, options).run_steps == []
    options.keep_fraction = 1.0
    rerun = self_train(data / SLICE, data / BASE_MODEL, out, options)
    assert rerun.run_steps[0] == "select-confident" and "fine-tune" in rerun.run_steps
    # a second round starts from the first round's tuned model; its report compares with the first base model
    options.rounds = 2
    second = self_train(data / SLICE, data / BASE_MODEL, out, options)
    assert all(step.startswith("round 2: ") for step in second.run_steps) and len(second.run_steps) == 10
    assert second.out_dir == str(out / "round2") and second.base_gff == str(out / "base" / "annotation.gff3")
    with h5py.File(out / "tuned" / "predictions.h5") as first, \
            h5py.File(out / "round2" / "base" / "predictions.h5") as again:  # round 1's tuned model predicted
        assert np.array_equal(first["predictions"][:], again["predictions"][:])
    assert json.loads((out / "round2" / "report.json").read_text())["models"]["base"]["genes"] == \
        report["models"]["base"]["genes"]


def test_rounds_need_the_whole_network_mode(tmp_path):
    for options in (SelfTrainOptions(rounds=0), SelfTrainOptions(rounds=2, fine_tune_mode="head"),
                    SelfTrainOptions(rounds=2, bam=["x.bam"], strandedness="unstranded")):
        with pytest.raises(HelixtuneError, match="rounds"):
            self_train(tmp_path / "none.fa", tmp_path / "none.safetensors", tmp_path / "run", options)


@pytest.mark.shared
def test_label_quality_gate_stops_a_model_that_finds_no_genes(small_genome, tmp_path):
    """Upstream's tiny test model predicts 'genic' at about 0.7 everywhere: no region passes HelixerPost's peak
    threshold, no genes, and the run stops before making pseudolabels."""
    model = shared_file("reference_models/small_default.h5")
    out = tmp_path / "run"
    options = SelfTrainOptions(species="Mpusilla", subsequence_length=LENGTH, overlap=False, threads=1)
    with pytest.raises(DegenerateLabels, match="decode to 0 gene"):
        self_train(small_genome, model, out, options)
    state = json.loads((out / "state.json").read_text())
    assert list(state["steps"]) == ["encode", "predict (base model)", "decode (base model)"]
    assert not (out / "pseudolabels").exists()


def test_rounds_stop_at_the_first_degenerate_round(tmp_path, monkeypatch, capsys):
    """Self-training can drift (each round calls more genes); a round whose pseudolabels fail the gate ends the
    loop, and the last good round is the result."""
    import helixtune.pipelines.self_train as pipeline

    monkeypatch.setattr(pipeline, "_self_train_round", _fake_round({2: 0.1, 3: "degenerate"}))
    result = self_train(tmp_path / "g.fa", tmp_path / "m.safetensors", tmp_path / "run", SelfTrainOptions(rounds=4))
    assert result.out_dir == str(tmp_path / "run" / "round2") and result.base_gff == str(tmp_path / "run" / "base.gff3")
    assert result.run_steps == ["round 1", "round 2: round 2 "]
    assert "round 3 stopped, its pseudolabels look degenerate" in capsys.readouterr().err
    assert json.loads((tmp_path / "run" / "result.json").read_text())["tuned_model"] == result.tuned_model


def _fake_round(uncertain: dict):
    """A stand-in for one round: its report gives the tuned model's share of uncertain bases (`uncertain[k]`,
    round 1: 0.096), or the round's pseudolabels fail the gate (`"degenerate"`)."""
    import helixtune.pipelines.self_train as pipeline

    def one_round(fasta, base_model, out_dir, options, label="", report_base=None):
        k = int(label.split()[1]) if label else 1
        if uncertain.get(k) == "degenerate":
            raise DegenerateLabels(f"{out_dir}/pseudolabels/confident.h5: 96.45% of the selected bases are genic")
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        share = uncertain.get(k, 0.096)
        (Path(out_dir) / "report.json").write_text(json.dumps({"models": {"tuned": {"confidence": {
            "share_below_0.6": share}}}}))
        return pipeline.SelfTrainResult(str(out_dir), f"{out_dir}/tuned/model.safetensors", f"{out_dir}/base.gff3",
                                        f"{out_dir}/tuned.gff3", f"{out_dir}/report.md", [], [label or "round 1"],
                                        f"{out_dir}/base.h5")
    return one_round


def test_rounds_stop_when_a_rounds_model_drifts(tmp_path, monkeypatch, capsys):
    """The study's second round tripled the share of uncertain bases (0.096 -> 0.297) and lost most of its
    gene F1: such a round ends the loop, and the round before it is the result."""
    import helixtune.pipelines.self_train as pipeline

    monkeypatch.setattr(pipeline, "_self_train_round", _fake_round({2: 0.12, 3: 0.297}))
    result = self_train(tmp_path / "g.fa", tmp_path / "m.safetensors", tmp_path / "run", SelfTrainOptions(rounds=3))
    assert result.out_dir == str(tmp_path / "run" / "round2")  # 0.096 -> 0.12: not drifting
    err = capsys.readouterr().err
    assert "round 3 stopped, its model is drifting (29.7% of its bases" in err and "12.0% for the previous" in err
    assert result.run_steps == ["round 1", "round 2: round 2 ", "round 3: round 3 "]  # it ran, and was not kept
    assert json.loads((tmp_path / "run" / "result.json").read_text())["out_dir"] == str(tmp_path / "run" / "round2")
