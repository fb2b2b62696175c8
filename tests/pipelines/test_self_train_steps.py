"""self-train's steps are data: the list drives what runs and the step count; the decode steps take the
genome decoder's RNA-seq intron hints (--hints-bam)."""

from __future__ import annotations

from pathlib import Path

import pytest

from helixtune.cli import main
from helixtune.decode.options import DecodeOptions
from helixtune.decode.params import DecodeParams
from helixtune.errors import HelixtuneError
from helixtune.pipelines import self_train as pipeline
from helixtune.pipelines.self_train import Round, SelfTrainOptions, Step, steps_for
from tests.decode.test_genome_decoder import INTRON, SLICE, _introns, _neutral_predictions

PLAIN_STEPS = ["encode", "predict (base model)", "decode (base model)", "import + export pseudolabels",
               "select-confident", "split", "fine-tune", "predict (tuned model)", "decode (tuned model)", "report"]


def test_the_step_list_gives_the_steps_and_their_number():
    assert [step.name for step in steps_for(SelfTrainOptions())] == PLAIN_STEPS
    with_bam = [step.name for step in steps_for(SelfTrainOptions(bam=["r.bam"], strandedness="unstranded"))]
    assert len(with_bam) == 12
    assert with_bam[1] == "add-coverage (genome)" and with_bam[5] == "add-coverage (pseudolabels)"
    assert [name for name in with_bam if not name.startswith("add-coverage")] == PLAIN_STEPS


def test_self_train_runs_the_steps_of_its_list(test_data, tmp_path, monkeypatch, capsys):
    """Another list, another run: two steps, numbered [1/2] and [2/2], each skipped once complete; a step's
    check reads its summary."""
    checked = []

    def write(name):
        def run(r: Round) -> dict:
            (r.out_dir / f"{name}.txt").write_text(name)
            return {"wrote": name}
        return Step(name, lambda r: {"species": r.species}, lambda r: [r.out_dir / f"{name}.txt"], run,
                    check=lambda r, summary: checked.append(summary["wrote"]))

    monkeypatch.setattr(pipeline, "STEPS", (write("first"), write("second")))
    data = test_data / "pseudolabel"
    args = (data / "spombe_chrI_200000-240000.fa", data / "spombe_small_base.safetensors", tmp_path / "run",
            SelfTrainOptions(species="Spombe", subsequence_length=9990))
    result = pipeline.self_train(*args)
    assert result.run_steps == ["first", "second"] and checked == ["first", "second"]
    assert "[1/2] first: running" in capsys.readouterr().err
    again = pipeline.self_train(*args)
    assert again.skipped_steps == ["first", "second"] and again.run_steps == []
    assert "[2/2] second: complete, skipped" in capsys.readouterr().err
    assert checked == ["first", "second"] * 2


@pytest.fixture()
def hinted_round(test_data, tmp_path) -> Round:
    """A round whose base predictions know a gene's extent but not its intron, decoded with hints."""
    folder = test_data / "decode"
    predictions = tmp_path / "predictions.h5"
    _neutral_predictions(predictions, intron_says=0.3)
    params = DecodeParams.load()
    params.emission_weight = 0.3  # as the decoder's own hint test, independent of the bundled calibration
    decode = DecodeOptions(decoder="genome", params=params, hints_bam=(str(folder / "spombe_slice.bam"),),
                           strandedness="second_read_is_sense_strand")
    paths = {"genome": folder / "spombe_slice.genome.h5", "base_predictions": predictions,
             "base_gff": tmp_path / "base.gff3"}
    return Round(folder / "spombe_slice.fa", Path("base.safetensors"), tmp_path, SelfTrainOptions(decode=decode,
                                                                                                  threads=1),
                 "Spombe", 6000, "whole", paths)


def test_the_decode_step_decodes_with_the_hints(hinted_round):
    step = next(step for step in steps_for(hinted_round.options) if step.name == "decode (base model)")
    summary = step.run(hinted_round)
    assert summary["hinted_junctions"] == 3
    assert _introns(hinted_round.paths["base_gff"]) == {(SLICE, "+", *INTRON)}  # the intron the reads support
    # the step key names the hint files by identity, so a changed BAM decodes again
    key = step.key(hinted_round)
    assert key["hints_bam"][0]["path"] == str(Path(hinted_round.options.decode.hints_bam[0]).resolve())
    assert key["strandedness"] == "second_read_is_sense_strand"


def test_hints_bam_reaches_self_train_options(tmp_path, monkeypatch, capsys):
    seen = {}

    def fake_self_train(fasta, model, out, options):
        seen["options"] = options
        raise HelixtuneError("stop here")

    monkeypatch.setattr(pipeline, "self_train", fake_self_train)
    base = ["self-train", "--fasta", "g.fa", "-l", "m.safetensors", "--out", str(tmp_path)]
    assert main(base + ["--decoder", "genome", "--hints-bam", "a.bam", "b.bam",
                        "--hints-second-read-is-sense-strand"]) == 1
    decode = seen["options"].decode
    assert (decode.decoder, decode.hints_bam, decode.strandedness) == ("genome", ("a.bam", "b.bam"),
                                                                        "second_read_is_sense_strand")
    seen.clear()
    assert main(base + ["--hints-bam", "a.bam"]) == 1  # the genome decoder is self-train's default
    assert seen["options"].decode.decoder == "genome" and seen["options"].decode.hints_bam == ("a.bam",)
    seen.clear()
    capsys.readouterr()
    assert main(base + ["--decoder", "helixerpost", "--hints-bam", "a.bam"]) == 1
    assert "need --decoder genome" in capsys.readouterr().err and not seen


def test_hints_need_the_genome_decoder_and_existing_files(test_data, tmp_path):
    fasta = test_data / "pseudolabel" / "spombe_chrI_200000-240000.fa"
    model = test_data / "pseudolabel" / "spombe_small_base.safetensors"
    with pytest.raises(HelixtuneError, match="genome decoder"):
        pipeline.self_train(fasta, model, tmp_path / "run",
                            SelfTrainOptions(decode=DecodeOptions(hints_bam=(str(tmp_path / "r.bam"),))))
    with pytest.raises(HelixtuneError, match="no such file"):
        pipeline.self_train(fasta, model, tmp_path / "run", SelfTrainOptions(
            decode=DecodeOptions(decoder="genome", hints_bam=(str(tmp_path / "r.bam"),))))


def test_self_train_command_line_defaults_are_the_options_dataclass_defaults():
    """Every self-train default is written once, in SelfTrainOptions (and its DecodeOptions)."""
    import argparse

    from helixtune.cli import build_parser
    from helixtune.pipelines.self_train import SelfTrainOptions

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["self-train"]
    args = sub.parse_args(["--out", "x"])
    options = SelfTrainOptions()
    same_name = {"keep_fraction", "mask_implausible_genes", "rounds", "val_fraction", "seed", "epochs", "patience",
                 "learning_rate", "check_every_nth_batch", "select_by", "max_time", "max_steps", "overlap",
                 "device", "threads", "allow_degenerate_labels", "min_genes", "reference_gff", "species",
                 "subsequence_length", "lineage", "bam", "fine_tune_mode"}
    for name in same_name:
        assert getattr(args, name) == getattr(options, name), name
    assert args.batch_size == options.train_batch_size and args.predict_batch_size == options.batch_size
    assert args.decoder == options.decode.decoder and args.window_size == options.decode.window_size
    assert args.min_coding_length == options.decode.min_coding_length


def test_self_train_adapts_the_decoder_once_on_the_base_models_pass(tmp_path):
    """With the bundled parameters the base decode refits them on its first pass and keeps them; the tuned
    decode reads that file (its key names it), so both models' genes are decoded with the same statistics."""
    from helixtune.annotation.pipeline import gff_to_h5
    from helixtune.data import example_path
    from helixtune.decode.label_predictions import write_label_predictions

    labels, predictions = tmp_path / "labels.h5", tmp_path / "predictions.h5"
    gff_to_h5(example_path("spombe_pieces.gff3.gz"), example_path("spombe_pieces.fa.gz"), labels, "Spombe")
    write_label_predictions(labels, predictions)  # 132 genes: enough to refit
    paths = {"genome": labels, "base_predictions": predictions, "tuned_predictions": predictions,
             "base_gff": tmp_path / "base" / "annotation.gff3", "tuned_gff": tmp_path / "tuned.gff3",
             "decode_params": tmp_path / "base" / "decode_params.adapted.json"}
    paths["base_gff"].parent.mkdir()
    r = Round(example_path("spombe_pieces.fa.gz"), Path("base.safetensors"), tmp_path,
              SelfTrainOptions(threads=1), "Spombe", 6000, "whole", paths)
    steps = {step.name: step for step in steps_for(r.options)}
    assert steps["decode (base model)"].key(r)["adapt"] is True
    summary = steps["decode (base model)"].run(r)
    assert summary["adapted"].startswith("refitted on ")
    adapted = DecodeParams.load(paths["decode_params"])
    assert adapted.source["adapted_to"].endswith("first-pass genes of the decoded genome")
    assert steps["decode (tuned model)"].key(r)["adapted_params"]["path"] == str(paths["decode_params"].resolve())
    tuned = steps["decode (tuned model)"].run(r)
    assert tuned["adapted"] == ""  # not refitted again: the base pass's statistics, as they are
    assert paths["tuned_gff"].read_text() == paths["base_gff"].read_text()
    # with the user's own parameters nothing is refitted and no file is kept
    paths["decode_params"].unlink()
    r.options.decode = DecodeOptions(decoder="genome", params=str(tmp_path / "mine.json"))
    DecodeParams.load().save(tmp_path / "mine.json")
    assert "adapt" not in steps["decode (base model)"].key(r)
    assert steps["decode (base model)"].run(r)["adapted"] == "" and not paths["decode_params"].exists()
