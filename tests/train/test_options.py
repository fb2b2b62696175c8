"""One source per option: train's flags come from TrainConfig's fields; --config FILE; the config a run writes."""

from __future__ import annotations

import argparse
import dataclasses
import re
import tomllib
from pathlib import Path

import pytest

from helixtune.cli import build_parser, main
from helixtune.cli.options import config_keys, options_from_args
from helixtune.configfile import config_text, option_default, option_fields, read_config_table
from helixtune.errors import HelixtuneError
from helixtune.train import TrainConfig

CLI_ONLY = {"help", "config", "verbose"}  # arguments of the command, not options of the run


def _command_parser(command: str) -> argparse.ArgumentParser:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return subparsers.choices[command]


def test_every_train_flag_takes_its_default_from_the_options_dataclass():
    parser = _command_parser("train")
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    options = {f.name for f in option_fields(TrainConfig)}
    seen = set()
    for action in parser._actions:
        if action.dest in CLI_ONLY:
            continue
        assert action.dest in options, f"{action.option_strings} is not a field of TrainConfig"
        assert action.default == option_default(fields[action.dest]), action.option_strings
        seen.add(action.dest)
    assert seen == options  # and every option has its flag
    assert vars(parser.parse_args(["-d", "d"])) | {"data_dir": "d"} == {
        **{name: option_default(fields[name]) for name in options}, "data_dir": "d", "config": None,
        "verbose": False, "func": parser.get_default("func")}


def test_the_train_command_module_writes_no_default():
    import helixtune.cli.train as module

    source = Path(module.__file__).read_text()
    assert "default=" not in source
    assert not re.search(r"add_argument\(\s*\"-(d|s|e|b)\"", source)  # flags live on the fields


def test_config_file_sets_options_and_the_command_line_overrides_it(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('data-dir = "from_file"\npatience = 7\nclass_weights = [0.7, 1.6, 1.2, 1.2]\n'
                      'max_time = "1h30m"\nworkers = 2\npredict_phase = false\nfine-tune-mode = "head"\n'
                      'load_model_path = "base.safetensors"\n')
    parser = build_parser()
    args = parser.parse_args(["train", "--config", str(config)])
    assert (args.data_dir, args.patience, args.class_weights, args.max_time, args.num_workers, args.predict_phase,
            args.fine_tune_mode) == ("from_file", 7, [0.7, 1.6, 1.2, 1.2], 5400.0, 2, False, "head")
    assert args.batch_size == 8  # not in the file: the field's default
    # flags win, given before or after --config
    args = build_parser().parse_args(["train", "--patience", "9", "--config", str(config), "-d", "cli",
                                      "--predict-phase", "--max-time", "10s"])
    assert (args.data_dir, args.patience, args.predict_phase, args.max_time) == ("cli", 9, True, 10.0)


@pytest.mark.parametrize("text,message", [
    ("bogus = 1\n", "unknown key 'bogus'"),
    ("patience = 'many'\n", "key 'patience'"),
    ("patience = 2.5\n", "key 'patience'"),
    ("fine_tune = 'yes'\n", "key 'fine_tune': must be true or false"),
    ("select_by = 'best'\n", "key 'select_by': must be one of"),
    ("max_time = 'soon'\n", "not a duration"),
    ("patience = \n", "not a valid TOML file"),
    ("batch_size = 2\nbatch-size = 3\n", "a second time"),
])
def test_a_bad_config_file_is_a_one_line_error_naming_the_file_and_key(tmp_path, capsys, text, message):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    with pytest.raises(SystemExit) as stop:
        main(["train", "-d", "d", "--config", str(config)])
    assert stop.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("helixtune train: error: ") and str(config) in err[0], err
    assert message in err[0]
    with pytest.raises(HelixtuneError, match=re.escape(message)):
        read_config_table(config, config_keys(_command_parser("train")))


def test_a_missing_data_dir_is_argparses_usage_error(capsys, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("patience = 4\n")
    with pytest.raises(SystemExit) as stop:
        main(["train", "--config", str(config)])
    assert stop.value.code == 2
    assert "the following arguments are required: -d/--data-dir" in capsys.readouterr().err


def test_config_text_reads_back_as_the_same_options(tmp_path):
    options = TrainConfig(data_dir='data "quoted"\\dir', save_model_path="m.safetensors", patience=5,
                          class_weights=[0.7, 1.6, 1.2, 1.2], max_time=90.0, devices="auto", learning_rate=1e-5,
                          coverage_norm="log", load_model_path="base.h5", fine_tune_mode="coverage", restart=True)
    text = config_text(options, header="a header\nof two lines")
    assert text.startswith("# a header\n# of two lines\n")
    assert "restart" not in tomllib.loads(text)  # an action, not an option of the run
    path = tmp_path / "config.toml"
    path.write_text(text)
    again = options_from_args(TrainConfig, build_parser().parse_args(["train", "--config", str(path)]))
    assert dataclasses.replace(again, restart=True) == options


def test_self_train_reads_a_config_file_too(tmp_path, capsys):
    config = tmp_path / "self_train.toml"
    config.write_text('out = "run"\nfasta = "g.fa"\nload-model-path = "bundled"\nepochs = 3\nbam = ["a.bam", "b.bam"]\n'
                      'mask_implausible_genes = false\nselect-by = "gene-f1"\nmax_time = "1h"\n')
    args = build_parser().parse_args(["self-train", "--config", str(config), "--epochs", "4"])
    assert (args.out, args.fasta, args.model, args.epochs, args.bam, args.mask_implausible_genes, args.select_by,
            args.max_time) == ("run", "g.fa", "bundled", 4, ["a.bam", "b.bam"], False, "gene-f1", 3600.0)
    assert args.patience == 2  # not in the file
    config.write_text('out = "run"\nsave_model_path = "m.safetensors"\n')  # a train option, not self-train's
    with pytest.raises(SystemExit) as stop:
        main(["self-train", "--config", str(config)])
    assert stop.value.code == 1
    assert "unknown key 'save_model_path'" in capsys.readouterr().err
