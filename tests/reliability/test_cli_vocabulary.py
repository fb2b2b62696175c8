"""One command-line vocabulary: -o for the output everywhere, upstream's flags accepted, errors with the command's usage."""

from __future__ import annotations

import pytest

from sharedpaths import TEST_DATA
from clirun import assert_clean_failure, run_helixtune
from helixtune.cli import build_parser, main

MODELS = TEST_DATA / "model"


@pytest.mark.parametrize("command,dest", [
    ("encode", "h5_output_path"), ("predict", "prediction_output_path"), ("annotate", "gff_output_path"),
    ("self-train", "out"), ("split", "output_pfx"), ("select-confident", "output_file"), ("export", "h5_output_path"),
    ("gff2h5", "h5_output_path"), ("import", "db_path"), ("train", "save_model_path"),
])
def test_dash_o_names_the_output(command, dest):
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    options = {o: a.dest for a in subparsers.choices[command]._actions for o in a.option_strings}
    assert options.get("-o") == dest


def test_upstream_long_flags_still_work():
    parser = build_parser()
    args = parser.parse_args(["predict", "--load-model-path", "m", "--test-data", "t", "--prediction-output-path", "p",
                              "--post-coverage-hidden-layer"])
    assert (args.load_model_path, args.test_data, args.prediction_output_path) == ("m", "t", "p")
    args = parser.parse_args(["annotate", "--fasta-path", "f", "--model-filepath", "m", "--gff-output-path", "g"])
    assert (args.fasta, args.model, args.gff_output_path) == ("f", "m", "g")


def test_predict_accepts_post_coverage_hidden_layer_for_such_a_model(tmp_path):
    assert main(["predict", "-l", str(MODELS / "small_default_ftcov_hidden.h5"), "--coverage-norm", "log",
                 "--post-coverage-hidden-layer", "-t", str(MODELS / "spombe_cov_test.h5"),
                 "-o", str(tmp_path / "p.h5")]) == 0
    assert (tmp_path / "p.h5").exists()


def test_post_coverage_hidden_layer_is_checked_against_the_model(tmp_path):
    result = run_helixtune("predict", "-l", MODELS / "small_default.h5", "--post-coverage-hidden-layer",
                           "-t", MODELS / "spombe_cov_test.h5", "-o", "p.h5", cwd=tmp_path)
    assert_clean_failure(result, 1, mentions="has no hidden layer")
    assert not (tmp_path / "p.h5").exists()


def test_unknown_option_shows_the_commands_usage(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", "-l", "m", "-t", "t", "--no-such-option"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: helixtune predict") and "unrecognized arguments: --no-such-option" in err


def test_help_has_no_doubled_percent_signs(capsys):
    for command in ("split", "train"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "%%" not in capsys.readouterr().out


def test_library_noise_is_silenced(caplog):
    import logging
    import warnings

    from helixtune.cli import quiet_library_noise

    quiet_library_noise()
    logger = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    with caplog.at_level(logging.INFO, logger=logger.name):
        logger.info("💡 Tip: For seamless cloud logging and experiment tracking, try installing [litlogger](...)")
        logger.info("GPU available: False, used: False")
        logger.info("a message that matters")
    assert [r.getMessage() for r in caplog.records] == ["a message that matters"]
    with warnings.catch_warnings(record=True) as caught:
        quiet_library_noise()  # catch_warnings reset the filters
        warnings.warn("`torch.utils._pytree._register_pytree_node` is deprecated. Please use "
                      "`torch.utils._pytree.register_pytree_node` instead.", FutureWarning)
        warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated, use `isinstance(treespec, TreeSpec) and "
                      "treespec.is_leaf()` instead.", FutureWarning)
    assert not caught


def test_decode_takes_o_for_its_output(tmp_path):
    from helixtune.cli import build_parser
    from helixtune.cli.decode import parse_arguments

    args = build_parser().parse_args(["decode", "g.h5", "p.h5", "-o", str(tmp_path / "out.gff3")])
    assert parse_arguments(args)["out_gff3"] == str(tmp_path / "out.gff3")
    args = build_parser().parse_args(["decode", "g.h5", "p.h5", "x.gff3", "-o", str(tmp_path / "out.gff3")])
    with pytest.raises(Exception, match="with -o, give GENOME_H5 PREDICTIONS_H5"):
        parse_arguments(args)
