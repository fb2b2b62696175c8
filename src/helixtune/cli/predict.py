"""`helixtune predict`: model + genome h5 -> predictions h5, as upstream `HybridModel.py -l M -t G -p P`."""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "predict", help="run a model (helixtune or upstream Keras .h5) over a genome h5; write predictions h5",
        description="Predict base-wise class and phase probabilities for every subsequence of a genome/test h5 "
                    "file and write them in upstream's predictions layout (predictions, predictions_phase; "
                    "float16), readable by HelixerPost. The model may be a helixtune model file or an upstream "
                    "Keras .h5 model.")
    parser.add_argument("--load-model-path", "-l", required=True, help="model file (helixtune .safetensors or Keras .h5)")
    parser.add_argument("--test-data", "-t", required=True, help="genome/test h5 with data/X and data/start_ends")
    parser.add_argument("--prediction-output-path", "-p", "--output", "-o", dest="prediction_output_path",
                        default="predictions.h5",
                        help="predictions h5 to write (default predictions.h5)")
    parser.add_argument("--overlap", action="store_true",
                        help="predict overlapping windows and average their cores (as upstream --overlap)")
    parser.add_argument("--overlap-offset", type=int, default=None,
                        help="distance between overlapping windows (default: subsequence length // 2)")
    parser.add_argument("--overlap-core-length", "--core-length", dest="overlap_core_length", type=int, default=None,
                        help="central part of each window that is kept (default: 3/4 of the subsequence length)")
    parser.add_argument("--batch-size", "--val-test-batch-size", "-b", dest="batch_size", type=int, default=32,
                        help="subsequences (windows) per network call (default 32); results do not depend on it")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N or auto")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for the network (default: torch's)")
    parser.add_argument("--mixed-precision", action="store_true",
                        help="CUDA: run the network in float16 autocast (faster; slightly less exact)")
    # engine.PRECISIONS, spelled out so that parsing the command line does not import torch
    parser.add_argument("--precision", choices=("auto", "float32", "bfloat16-conv", "bfloat16"), default="auto",
                        help="CPU: bfloat16-conv runs the convolutions in bfloat16 and the rest in float32; "
                             "bfloat16 also runs the BiLSTMs' matrix products in bfloat16 with float32 sums, gates "
                             "and states (probabilities change by ~2e-4; needs AVX512-BF16); auto (default) uses "
                             "the fastest of these the CPU supports; float32 everywhere else")
    parser.add_argument("--compression", choices=("gzip", "lzf"), default="gzip", help="h5 compression (default gzip)")
    parser.add_argument("--padded-minus-layout", choices=("genome", "helixer-0.3.6"), default="genome",
                        help="genome (default): predictions of padded minus-strand subsequences line up with the "
                             "genome h5, as HelixerPost reads them; helixer-0.3.6: padding first, byte-compatible "
                             "with upstream 0.3.6 prediction files")
    parser.add_argument("--pretrained-model-path", default=None,
                        help="upstream coverage models: the base model they were tuned from (optional here; "
                             "checked and recorded)")
    parser.add_argument("--coverage-norm", choices=("log", "linear", "none"), default=None,
                        help="upstream Keras coverage models only: the --coverage-norm used in training "
                             "(upstream does not store it in the model)")
    # upstream flags that do not change prediction here
    parser.add_argument("--input-coverage", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--post-coverage-hidden-layer", action="store_true",
                        help="upstream's flag for a coverage model with a hidden layer; the model file says so "
                             "itself, so it is only checked against the file")
    parser.add_argument("--predict-phase", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--verbose", "-v", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def coverage_norm_argument(value):
    """CLI value -> read_keras_model argument (`...` = not given)."""
    if value is None:
        return ...
    return None if value == "none" else value


def run(args) -> int:
    from helixtune.predict.run import PredictOptions, predict

    options = PredictOptions(batch_size=args.batch_size, overlap=args.overlap, overlap_offset=args.overlap_offset,
                             overlap_core_length=args.overlap_core_length, device=args.device, threads=args.threads,
                             mixed_precision=args.mixed_precision, precision=args.precision, compression=args.compression,
                             padded_minus_layout=args.padded_minus_layout)
    summary = predict(args.load_model_path, args.test_data, args.prediction_output_path, options,
                      pretrained_model_path=args.pretrained_model_path,
                      coverage_norm=coverage_norm_argument(args.coverage_norm),
                      post_coverage_hidden_layer=args.post_coverage_hidden_layer or None)
    rate = summary.strand_bases / summary.seconds if summary.seconds else 0.0
    print(f"predicted {summary.rows} subsequences of {summary.subsequence_length} bp ({summary.strand_bases:,} "
          f"strand-bases, {rate:,.0f}/s; {', '.join(summary.outputs)}): {args.prediction_output_path}",
          file=sys.stderr)
    return 0
