"""`helixtune convert-model`: upstream Keras `.h5` model -> helixtune model file (safetensors + JSON)."""

from __future__ import annotations

import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "convert-model", help="convert an upstream Keras .h5 model into a helixtune model file",
        description="Read an upstream Helixer Keras .h5 model (released, trained or fine-tuned, with or without "
                    "phase head, coverage fine-tunes included) without TensorFlow and write a helixtune model "
                    "file: safetensors weights with JSON metadata (architecture, heads, coverage inputs and their "
                    "normalisation, base model hash, provenance).")
    parser.add_argument("keras_h5", help="upstream Keras model (.h5)")
    parser.add_argument("output", help="helixtune model file to write (e.g. model.safetensors)")
    parser.add_argument("--pretrained-model-path", default=None,
                        help="coverage models: the base model they were tuned from (checked against the tuned "
                             "model's frozen part and recorded as its base)")
    parser.add_argument("--coverage-norm", choices=("log", "linear", "none"), default=None,
                        help="coverage models: the --coverage-norm used in training (required for them; upstream "
                             "does not store it)")
    parser.add_argument("--coverage-datasets", nargs=2, metavar=("COVERAGE", "SPLICED"), default=None,
                        help="coverage models: h5 datasets to read the tracks from (default "
                             "evaluation/rnaseq_coverage evaluation/rnaseq_spliced_coverage, as upstream)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from helixtune.cli.predict import coverage_norm_argument
    from helixtune.model.convert import convert_keras_model

    summary = convert_keras_model(args.keras_h5, args.output, pretrained_model_path=args.pretrained_model_path,
                                  coverage_norm=coverage_norm_argument(args.coverage_norm),
                                  coverage_datasets=args.coverage_datasets)
    print(summary, file=sys.stderr)
    return 0
