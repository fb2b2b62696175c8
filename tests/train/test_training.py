"""End-to-end training runs on small real data: outputs, exact resume after kill -9, finished runs, modes."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from helixtune.cli import build_parser, main
from helixtune.model import model_file
from helixtune.train import TrainConfig, train_model

# a network small enough to train in milliseconds per step on a CPU
TINY = dict(filter_depth=8, units=8, kernel_size=9, pool_size=9, cnn_layers=2)
TINY_ARGS = ["--filter-depth", "8", "--units", "8", "--kernel-size", "9", "--pool-size", "9", "--cnn-layers", "2"]
KILLED_RUN = Path(__file__).with_name("killed_run.py")
WEIGHTS = dict(class_weights=[0.7, 1.6, 1.2, 1.2], transition_weights=[1, 12, 3, 1, 12, 3])


def _rows(path):
    with open(path) as handle:
        return list(csv.DictReader(handle))


def _tensors(path):
    from safetensors.torch import load_file

    return load_file(str(path))


def test_cli_trains_saves_best_model_metrics_and_curves(tiny_data_dir, tmp_path, capsys):
    model_path = tmp_path / "best.safetensors"
    args = ["train", "-d", str(tiny_data_dir), "-s", str(model_path), *TINY_ARGS, "-e", "1", "-b", "2",
            "--val-test-batch-size", "2", "--class-weights", "[0.7, 1.6, 1.2, 1.2]", "-v"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "confusion_matrix" in captured.out and "F1_summary" in captured.out  # -v: the tables on stdout
    assert "validation genic F1" in captured.err  # one progress line per check on stderr
    run_dir = tmp_path / "best.safetensors.run"
    rows = _rows(run_dir / "metrics.csv")
    assert len(rows) == 1 and rows[0]["improved"] == "1" and 0 <= float(rows[0]["genic_f1"]) <= 1
    assert (run_dir / "learning_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    model, metadata = model_file.load_model(model_path)
    assert metadata["provenance"]["mode"] == "scratch"
    assert metadata["provenance"]["training"]["validation_genic_f1"] == pytest.approx(float(rows[0]["genic_f1"]))
    assert model.pool_size == 9 and model.predict_phase

    # the same command again: the run is complete, nothing is trained
    before = model_path.stat().st_mtime_ns
    assert main(args) == 0
    assert model_path.stat().st_mtime_ns == before and len(_rows(run_dir / "metrics.csv")) == 1
    # the run wrote the options it used; given back with --config, they are the same run (complete as well)
    written = build_parser().parse_args(["train", "--config", str(run_dir / "config.toml")])
    assert (written.data_dir, written.batch_size, written.epochs, written.class_weights) == \
        (str(tiny_data_dir), 2, 1, [0.7, 1.6, 1.2, 1.2])
    assert main(["train", "--config", str(run_dir / "config.toml")]) == 0
    assert model_path.stat().st_mtime_ns == before and len(_rows(run_dir / "metrics.csv")) == 1
    # more epochs extend the finished run from its checkpoint
    assert main([a if a != "1" else "2" for a in args]) == 0
    rows = _rows(run_dir / "metrics.csv")
    assert [r["epoch"] for r in rows] == ["0", "1"] and rows[1]["step"] == "4"


@pytest.fixture
def one_torch_thread():
    """Bitwise equality needs the same reduction order in this process and in the killed child process."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield {**os.environ, "OMP_NUM_THREADS": "1"}
    torch.set_num_threads(previous)


def test_kill_9_mid_epoch_then_resume_elsewhere_gives_the_same_weights(tiny_data_dir, tmp_path, one_torch_thread):
    common = dict(data_dir=str(tiny_data_dir), epochs=2, batch_size=2, val_test_batch_size=2,
                  checkpoint_every_nth_batch=1, seed=3, deterministic=True, **TINY, **WEIGHTS)
    reference = train_model(TrainConfig(save_model_path=str(tmp_path / "straight.safetensors"), **common),
                            verbose=False)

    interrupted = tmp_path / "interrupted.safetensors"
    # the command line's options, in a process that a test-only callback kills (see killed_run.py)
    cli = [sys.executable, str(KILLED_RUN), "3", "train", "-d", str(tiny_data_dir), "-s", str(interrupted),
           *TINY_ARGS, "-e", "2", "-b", "2", "--val-test-batch-size", "2", "--checkpoint-every-nth-batch", "1",
           "--seed", "3", "--deterministic", "--class-weights", "[0.7, 1.6, 1.2, 1.2]",
           "--transition-weights", "[1, 12, 3, 1, 12, 3]"]
    # 2 batches per epoch: SIGKILL right after step 3 (first batch of the second epoch) and its checkpoint,
    # so the rerun must continue in the middle of an epoch, in the same shuffled order
    done = subprocess.run(cli, env=one_torch_thread, capture_output=True, text=True, timeout=300)
    assert done.returncode == -9, done.stderr[-2000:]
    rows = _rows(tmp_path / "interrupted.safetensors.run" / "metrics.csv")
    assert len(rows) == 1  # only the first epoch's check happened

    # the run's state is committed and the next session's checkout lives elsewhere: data and run dir both move
    moved = tmp_path / "another_checkout"
    shutil.copytree(tiny_data_dir, moved / "data")
    shutil.copytree(tmp_path / "interrupted.safetensors.run", moved / "interrupted.safetensors.run")
    interrupted = moved / "interrupted.safetensors"
    resumed = train_model(TrainConfig(save_model_path=str(interrupted), **{**common, "data_dir": str(moved / "data")}),
                          verbose=False)
    expected, got = _tensors(reference), _tensors(resumed)
    assert expected.keys() == got.keys()
    for name in expected:
        assert torch.equal(expected[name], got[name]), name
    straight_rows = _rows(tmp_path / "straight.safetensors.run" / "metrics.csv")
    resumed_rows = _rows(moved / "interrupted.safetensors.run" / "metrics.csv")
    assert [r["genic_f1"] for r in straight_rows] == [r["genic_f1"] for r in resumed_rows]
    assert [r["train_loss"] for r in straight_rows] == [r["train_loss"] for r in resumed_rows]


@pytest.fixture(scope="module")
def tiny_base_model(tmp_path_factory, test_data, copy_rows, tiny_length):
    """A small network trained briefly from scratch: the pretrained model of the fine-tune tests."""
    folder = tmp_path_factory.mktemp("base")
    copy_rows(test_data / "train" / "training_data.h5", folder / "training_data.h5", [2, 3, 14, 15],
              length=tiny_length)
    copy_rows(test_data / "train" / "validation_data.h5", folder / "validation_data.h5", [1, 5], length=tiny_length)
    path = folder / "base.safetensors"
    train_model(TrainConfig(data_dir=str(folder), save_model_path=str(path), epochs=1, batch_size=2,
                            val_test_batch_size=2, **TINY, **WEIGHTS), verbose=False)
    return path


@pytest.mark.parametrize("mode,new_layers", [("head", {"head"}), ("head+hidden", {"hidden", "head"})])
def test_frozen_modes_change_only_the_new_layers(tiny_base_model, tiny_data_dir, tmp_path, mode, new_layers):
    tuned_path = tmp_path / "tuned.safetensors"
    train_model(TrainConfig(data_dir=str(tiny_data_dir), save_model_path=str(tuned_path),
                            load_model_path=str(tiny_base_model), fine_tune_mode=mode, epochs=1, batch_size=2,
                            val_test_batch_size=2, learning_rate=1e-2, **WEIGHTS), verbose=False)
    base = _tensors(tiny_base_model)
    tuned = _tensors(tuned_path)
    model, metadata = model_file.load_model(tuned_path)
    assert metadata["architecture"]["fine_tune"]["mode"] == mode
    if "hidden" in new_layers:
        assert metadata["architecture"]["fine_tune"]["hidden_activation"] == "relu"
        assert metadata["architecture"]["fine_tune"]["hidden_units"] == 4  # base units // 2
    assert metadata["base_model"]["md5"] == model_file.file_md5(tiny_base_model)
    layers = {name.split(".")[0] for name in tuned if not name.startswith("base.")}
    assert layers == new_layers
    assert any("running_mean" in name for name in base)  # BatchNorm statistics are part of what stays fixed
    for name, value in tuned.items():
        if name.startswith("base."):
            assert torch.equal(value, base[name[len("base."):]]), f"frozen {name} changed"
    head = model_file.load_model(tuned_path)[0]
    assert head.head.weight.shape[0] == 8 * 9


def test_whole_mode_trains_every_weight(tiny_base_model, tiny_data_dir, tmp_path):
    tuned_path = tmp_path / "whole.safetensors"
    train_model(TrainConfig(data_dir=str(tiny_data_dir), save_model_path=str(tuned_path),
                            load_model_path=str(tiny_base_model), fine_tune_mode="whole", epochs=1, batch_size=2,
                            val_test_batch_size=2, learning_rate=1e-2, **WEIGHTS), verbose=False)
    base, tuned = _tensors(tiny_base_model), _tensors(tuned_path)
    assert base.keys() == tuned.keys()
    changed = {name for name in base if not torch.equal(base[name], tuned[name])}
    assert {n for n in base if "num_batches_tracked" not in n and "bias_hh" not in n} <= changed


def test_degenerate_labels_are_refused_unless_overridden(tmp_path, test_data, copy_rows, capsys):
    def all_intergenic(arrays):
        arrays["data/y"][:] = 0
        arrays["data/y"][..., 0] = 1

    folder = tmp_path / "data"
    folder.mkdir()
    copy_rows(test_data / "train" / "training_data.h5", folder / "training_data.h5", [0, 1], edit=all_intergenic)
    copy_rows(test_data / "train" / "validation_data.h5", folder / "validation_data.h5", [4])
    model_path = tmp_path / "m.safetensors"
    assert main(["train", "-d", str(folder), "-s", str(model_path), *TINY_ARGS, "-e", "1"]) == 1
    err = capsys.readouterr().err
    assert "genic" in err and "--allow-degenerate-labels" in err and len(err.strip().splitlines()) == 1
    assert not model_path.exists()


def test_bad_inputs_give_one_line_errors(tmp_path, capsys):
    assert main(["train", "-d", str(tmp_path / "missing"), "-s", str(tmp_path / "m.safetensors")]) == 1
    assert "not a directory" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["train", "-d", str(tmp_path / "empty")]) == 1
    assert "training_data" in capsys.readouterr().err
    assert main(["train", "-d", str(tmp_path / "empty"), "--fine-tune-mode", "head"]) == 1
    assert "--load-model-path" in capsys.readouterr().err


@pytest.mark.shared
@pytest.mark.parametrize("upstream,trainable", [(False, (2 * 32 + 9 * 2) * 72 + 72), (True, 306 * 72 + 72)])
def test_coverage_mode_from_upstream_keras_model(tmp_path, copy_rows, tiny_length, upstream, trainable):
    """Coverage fine-tune of upstream's small_default.h5 on S. pombe with RNA-seq coverage.

    Upstream's cut (dense_at - 2) drops the model's only BiLSTM: Dense(288 + 18 -> 72) = 22,104 trainable
    parameters, as in upstream's small_default_ftcov.h5; ours keeps it: Dense(64 + 18 -> 72)."""
    from sharedpaths import shared_file

    base_path = shared_file("reference_models/small_default.h5")
    split = shared_file("reference_models/data/spombe_cov_split")
    folder = tmp_path / "data"
    folder.mkdir()
    copy_rows(split / "training_data.h5", folder / "training_data.h5", [0, 1, 2, 10], length=tiny_length)
    copy_rows(split / "validation_data.h5", folder / "validation_data.h5", [0, 10], length=tiny_length)
    tuned_path = tmp_path / "cov.safetensors"
    train_model(TrainConfig(data_dir=str(folder), save_model_path=str(tuned_path), load_model_path=str(base_path),
                            fine_tune=True, input_coverage=True, coverage_norm="log", upstream_fine_tune=upstream,
                            epochs=1, batch_size=2, val_test_batch_size=2, learning_rate=1e-2, **WEIGHTS),
                verbose=False)
    model, metadata = model_file.load_model(tuned_path)
    assert metadata["architecture"]["fine_tune"]["coverage_tracks"] == 1
    assert metadata["architecture"]["fine_tune"]["excerpt_lstm_layers"] == (0 if upstream else 1)
    assert sum(p.numel() for name, p in model.named_parameters() if not name.startswith("base.")) == trainable
    from helixtune.train.finetune import load_pretrained

    base, _ = load_pretrained(base_path)
    base_state = base.state_dict()
    for name, value in model.state_dict().items():
        if name.startswith("base."):
            assert torch.equal(value, base_state[name[len("base."):]]), name
    x = torch.zeros(1, 18, 6)
    genic, phase = model(x)  # the tuned file alone runs (no base model needed)
    assert genic.shape == phase.shape == (1, 2, 9, 4)


def test_new_head_starts_as_the_pretrained_head(tiny_base_model, tmp_path):
    """head mode (and coverage mode without hidden layer) start from the base model's predictions exactly."""
    from helixtune.train.finetune import build_training_model, load_pretrained

    base, _ = load_pretrained(tiny_base_model)
    x = torch.rand(2, 180, 4)
    expected = base(x)
    head_config = TrainConfig(data_dir="d", load_model_path=str(tiny_base_model), fine_tune_mode="head")
    model, info = build_training_model(head_config)
    assert info["head_init"] == "pretrained"
    for got, want in zip(model.eval()(x), expected):
        torch.testing.assert_close(got, want)
    cov_config = TrainConfig(data_dir="d", load_model_path=str(tiny_base_model), fine_tune_mode="coverage",
                             coverage_norm="log")
    model, info = build_training_model(cov_config, coverage_tracks=2)
    x_cov = torch.cat([x, torch.randint(0, 50, (2, 180, 4)).float()], dim=-1)
    for got, want in zip(model.eval()(x_cov), expected):
        torch.testing.assert_close(got, want)
    random_config = TrainConfig(data_dir="d", load_model_path=str(tiny_base_model), fine_tune_mode="head",
                                head_init="random")
    model, info = build_training_model(random_config)
    assert "head_init" not in info
    assert not torch.allclose(model.eval()(x)[0], expected[0])


def test_fine_tune_resume_goes_on_tuning_the_head(tiny_base_model, tiny_data_dir, tmp_path):
    first = tmp_path / "first.safetensors"
    common = dict(data_dir=str(tiny_data_dir), epochs=1, batch_size=2, val_test_batch_size=2, learning_rate=1e-2,
                  **WEIGHTS)
    train_model(TrainConfig(save_model_path=str(first), load_model_path=str(tiny_base_model),
                            fine_tune_mode="head+hidden", **common), verbose=False)
    second = tmp_path / "second.safetensors"
    train_model(TrainConfig(save_model_path=str(second), load_model_path=str(first), fine_tune_resume=True,
                            **common), verbose=False)
    a, b = _tensors(first), _tensors(second)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[n], b[n]) for n in a if n.startswith("base."))
    assert not torch.equal(a["head.weight"], b["head.weight"])
    model, metadata = model_file.load_model(second)
    assert metadata["architecture"]["fine_tune"]["hidden_activation"] == "relu"
    assert "(resumed)" in metadata["provenance"]["mode"]


def test_max_steps_finishes_a_run_and_more_steps_extend_it(tiny_data_dir, tmp_path):
    common = dict(data_dir=str(tiny_data_dir), epochs=10, batch_size=2, val_test_batch_size=2, **TINY)
    path = tmp_path / "m.safetensors"
    train_model(TrainConfig(save_model_path=str(path), max_steps=3, **common), verbose=False)
    rows = _rows(tmp_path / "m.safetensors.run" / "metrics.csv")
    assert rows[-1]["step"] == "3"  # the budget's end is a check
    before = path.stat().st_mtime_ns
    train_model(TrainConfig(save_model_path=str(path), max_steps=3, **common), verbose=False)  # complete
    assert len(_rows(tmp_path / "m.safetensors.run" / "metrics.csv")) == len(rows)
    train_model(TrainConfig(save_model_path=str(path), max_steps=5, **common), verbose=False)
    assert _rows(tmp_path / "m.safetensors.run" / "metrics.csv")[-1]["step"] == "5"
    assert path.stat().st_mtime_ns >= before


def test_a_tuning_run_goes_on_after_it_and_its_pretrained_model_moved(tiny_base_model, tiny_data_dir, tmp_path):
    """The run knows its pretrained model by content: moved with its data to another folder (another
    machine), the same run resumes; another pretrained model is refused."""
    first = tmp_path / "first"
    first.mkdir()
    shutil.copytree(tiny_data_dir, first / "data")
    shutil.copy(tiny_base_model, first / "base.safetensors")

    def config(root, steps, base="base.safetensors"):
        return TrainConfig(data_dir=str(root / "data"), save_model_path=str(root / "tuned.safetensors"),
                           load_model_path=str(root / base), fine_tune_mode="whole", epochs=10, batch_size=2,
                           val_test_batch_size=2, max_steps=steps, decoder_statistics="no", **WEIGHTS)

    train_model(config(first, 1), verbose=False)
    moved = tmp_path / "moved"
    first.rename(moved)
    train_model(config(moved, 2), verbose=False)
    rows = _rows(moved / "tuned.safetensors.run" / "metrics.csv")
    assert [int(r["step"]) for r in rows] == [1, 2]  # went on where it stopped
    shutil.copy(moved / "tuned.safetensors", moved / "other.safetensors")
    from helixtune.errors import HelixtuneError

    with pytest.raises(HelixtuneError, match="started with different options.*load_model_md5"):
        train_model(config(moved, 3, base="other.safetensors"), verbose=False)


def test_max_time_stops_a_run_and_the_same_command_goes_on(tiny_data_dir, tmp_path, capsys):
    path = tmp_path / "m.safetensors"
    args = ["train", "-d", str(tiny_data_dir), "-s", str(path), *TINY_ARGS, "-e", "2", "-b", "2",
            "--val-test-batch-size", "2", "--max-time", "0.001s"]
    assert main(args) == 0  # stops after its first batch, with a check and a checkpoint
    assert "--max-time reached" in capsys.readouterr().err
    rows = _rows(tmp_path / "m.safetensors.run" / "metrics.csv")
    assert [r["step"] for r in rows] == ["1"]
    assert main(args[:-2]) == 0  # the same run, without the budget: goes on to the end of epoch 2
    rows = _rows(tmp_path / "m.safetensors.run" / "metrics.csv")
    assert rows[0]["step"] == "1" and rows[-1]["step"] == "4" and rows[-1]["epoch"] == "1"
    with pytest.raises(SystemExit) as stop:  # argparse's usage error
        main(["train", "-d", str(tiny_data_dir), "--max-time", "soon"])
    assert stop.value.code == 2
    assert "not a duration" in capsys.readouterr().err


def test_durations():
    from helixtune.train.config import parse_duration

    assert parse_duration("90") == 90 and parse_duration("90s") == 90 and parse_duration("30m") == 1800
    assert parse_duration("2h") == 7200 and parse_duration("1h30m") == 5400 and parse_duration("1d") == 86400
    with pytest.raises(Exception, match="not a duration"):
        parse_duration("10 minutes")


@pytest.fixture
def micromonas_gene_check_dir(test_data, copy_rows, tiny_length, tmp_path):
    """Cropped training chunks; validation = two whole Micromonas sequences (both strands, full length)."""
    folder = tmp_path / "genes"
    folder.mkdir()
    copy_rows(test_data / "train" / "training_data.h5", folder / "training_data.h5", [0, 1, 12, 13],
              length=tiny_length)
    copy_rows(test_data / "train" / "validation_data.h5", folder / "validation_data.h5", [4, 5, 6, 7])
    return folder


def test_gene_level_check_scores_the_labels_own_genes_perfectly(micromonas_gene_check_dir, tmp_path):
    from helixtune.decode.label_predictions import write_label_predictions
    from helixtune.decode.pipeline import decode_to_gff3
    from helixtune.evaluate.compare import evaluate
    from helixtune.train.gene_check import GeneLevelCheck

    check = GeneLevelCheck([micromonas_gene_check_dir / "validation_data.h5"], tmp_path / "check", threads=1)
    labels = tmp_path / "labels.h5"
    write_label_predictions(check.genome, labels)
    decode_to_gff3(check.genome, labels, tmp_path / "again.gff3", threads=1, show_progress=False,
                   **check.decode_keywords)
    result = evaluate(check.reference, tmp_path / "again.gff3")
    assert result["sanity"]["reference"]["genes"] >= 3
    assert result["features"]["gene"]["f1"] == 1.0


def test_select_by_a_gene_level_metric_runs_the_decoder_at_every_check(micromonas_gene_check_dir, tmp_path):
    """A real (short) tuning run: every check decodes the validation subset; the saved model is the best check."""
    from helixtune.data import bundled_model_path

    path = tmp_path / "tuned.safetensors"
    train_model(TrainConfig(data_dir=str(micromonas_gene_check_dir), save_model_path=str(path),
                            load_model_path=str(bundled_model_path("base_small")), fine_tune_mode="whole",
                            epochs=1, batch_size=2, val_test_batch_size=2, check_every_nth_batch=1, patience=10,
                            select_by="cds-exon-f1", seed=1), verbose=False)
    rows = _rows(tmp_path / "tuned.safetensors.run" / "metrics.csv")
    assert [int(r["step"]) for r in rows] == [1, 2]  # one check per step
    assert all(float(r["gene_check_s"]) >= 0 and int(r["predicted_genes"]) > 0 for r in rows)
    scores = [float(r["cds_exon_f1"]) for r in rows]
    _, metadata = model_file.load_model(path)
    assert metadata["provenance"]["training"]["check"] == scores.index(max(scores)) + 1
    assert metadata["provenance"]["training"]["selected_by"] == "cds-exon-f1"


def _script_gene_checks(monkeypatch, scores) -> None:
    """Gene-level checks that return `scores` in turn, in place of decoding (the selection logic alone)."""
    from helixtune.train import gene_check

    scripted = iter(scores)

    class ScriptedCheck:
        files: dict = {}  # one validation file: pooled scores, as GeneLevelCheck gives them
        score = gene_check.GeneLevelCheck.score

        def __init__(self, *args, **kwargs):
            pass

        def __call__(self, model):
            score = next(scripted)
            return {"cds_exon_f1": score, "gene_f1": score, "genes": 10, "reference_genes": 10, "seconds": 0.0}

    monkeypatch.setattr(gene_check, "GeneLevelCheck", ScriptedCheck)


def test_gene_level_selection_keeps_the_best_check_not_the_best_genic_f1(tiny_data_dir, tmp_path, monkeypatch):
    """The selection logic on a real tiny run, with the gene-level scores scripted: the 2nd of 4 checks wins."""
    _script_gene_checks(monkeypatch, [0.2, 0.6, 0.4, 0.5])
    path = tmp_path / "m.safetensors"
    train_model(TrainConfig(data_dir=str(tiny_data_dir), save_model_path=str(path), epochs=2, batch_size=2,
                            val_test_batch_size=2, check_every_nth_batch=1, patience=10, select_by="gene-f1",
                            save_every_check=True, **TINY), verbose=False)
    rows = _rows(tmp_path / "m.safetensors.run" / "metrics.csv")
    assert [float(r["gene_f1"]) for r in rows] == [0.2, 0.6, 0.4, 0.5]
    assert [float(r["best_score"]) for r in rows] == [0.2, 0.6, 0.6, 0.6]
    _, metadata = model_file.load_model(path)
    assert metadata["provenance"]["training"]["check"] == 2
    second_check = tmp_path / "m.safetensors.run" / "checks" / "model_e0_epoch_end.safetensors"
    saved, expected = _tensors(path), _tensors(second_check)
    assert all(torch.equal(saved[k], expected[k]) for k in expected)


@pytest.mark.parametrize("check_start", ["auto", "no"])  # auto: yes when tuning a pretrained model
def test_a_tuning_run_keeps_its_starting_model_when_no_check_beats_it(tiny_base_model, tiny_data_dir, tmp_path,
                                                                     monkeypatch, check_start):
    """Fine-tuning scores its starting model first (check 1, step 0); scripted gene-level scores in which no
    later check beats it hand back the starting weights. Without that check the best later one is kept."""
    _script_gene_checks(monkeypatch, [0.6, 0.4, 0.5] if check_start == "auto" else [0.4, 0.5])
    path = tmp_path / "tuned.safetensors"
    train_model(TrainConfig(data_dir=str(tiny_data_dir), save_model_path=str(path),
                            load_model_path=str(tiny_base_model), fine_tune_mode="whole", epochs=1, batch_size=2,
                            val_test_batch_size=2, check_every_nth_batch=1, patience=10, select_by="gene-f1",
                            learning_rate=1e-2, check_starting_model=check_start, decoder_statistics="no",
                            **WEIGHTS), verbose=False)
    rows = _rows(tmp_path / "tuned.safetensors.run" / "metrics.csv")
    _, metadata = model_file.load_model(path)
    base, tuned = _tensors(tiny_base_model), _tensors(path)
    same = all(torch.equal(base[k], tuned[k]) for k in base)
    if check_start == "auto":
        assert [int(r["step"]) for r in rows] == [0, 1, 2]
        assert metadata["provenance"]["training"]["check"] == 1 and metadata["provenance"]["training"]["step"] == 0
        assert same
    else:
        assert [int(r["step"]) for r in rows] == [1, 2]
        assert metadata["provenance"]["training"]["check"] == 2 and not same


def test_self_train_takes_the_same_selection_and_budgets():
    from helixtune.cli import build_parser

    args = build_parser().parse_args(["self-train", "--fasta", "g.fa", "-l", "bundled", "-o", "out",
                                      "--select-by", "gene-f1", "--max-time", "1h30m", "--max-steps", "500"])
    assert (args.select_by, args.max_time, args.max_steps) == ("gene-f1", 5400.0, 500)


def test_balanced_training_draws_every_training_file_alike(tiny_data_dir, tmp_path, copy_rows, test_data, tiny_length,
                                                          monkeypatch):
    """--balance-training-files: a run over a 4-chunk and a 1-chunk file trains on each file's chunks in equal
    numbers (the one chunk repeated), and resuming asks for the same option."""
    from helixtune.errors import HelixtuneError
    from helixtune.train.data import EpochBatchSampler

    copy_rows(test_data / "train" / "training_data.h5", tiny_data_dir / "training_data_small.h5", [2],
              length=tiny_length)
    drawn = []
    order = EpochBatchSampler.order
    monkeypatch.setattr(EpochBatchSampler, "order", lambda self, epoch: drawn.append(order(self, epoch)) or drawn[-1])
    common = dict(data_dir=str(tiny_data_dir), epochs=1, batch_size=2, val_test_batch_size=2, **TINY)
    path = tmp_path / "m.safetensors"
    train_model(TrainConfig(save_model_path=str(path), balance_training_files=True, **common), verbose=False)
    # training_data.h5 holds samples 0-3 (its 4 usable chunks), training_data_small.h5 sample 4
    epoch = drawn[0].tolist()
    assert len(epoch) == 5 and sorted(epoch).count(4) in (2, 3) and len(set(epoch) - {4}) == len(epoch) - epoch.count(4)
    with pytest.raises(HelixtuneError, match="balance_training_files"):
        train_model(TrainConfig(save_model_path=str(path), **{**common, "epochs": 2}), verbose=False)
