"""`helixtune self-train`: the whole pseudolabel fine-tuning loop for one genome, resumable."""

from __future__ import annotations

import sys

from helixtune.cli.annotate import add_decode_arguments, add_strandedness_arguments
from helixtune.cli.decode import add_adapt_argument, add_hints_arguments
from helixtune.cli.options import add_config_option
from helixtune.cli.train import duration
from helixtune.genome.lengths import DEFAULT_SUBSEQUENCE_LENGTH, LINEAGES
from helixtune.pipelines.self_train import SELF_TRAIN_DECODER, SelfTrainOptions
from helixtune.train.finetune import FINE_TUNE_MODES
from helixtune.train.gene_check import SELECT_BY


def register(subparsers) -> None:
    default = SelfTrainOptions()  # every default below is the options dataclass's
    parser = subparsers.add_parser(
        "self-train", help="fine-tune a model on its own most confident predictions for a genome (resumable)",
        description="encode -> predict -> decode -> import/export -> select-confident -> split -> fine-tune -> "
                    "predict and decode with the tuned model -> report comparing base and tuned model. Every step "
                    "skips itself when its output in --out is complete, so rerunning an interrupted command "
                    "resumes it. Stops when the pseudolabels are degenerate.")
    parser.add_argument("--example", action="store_true",
                        help="the quickstart: tune the bundled base model on the bundled S. pombe piece (300 kbp) "
                             "and print base vs tuned against its reference annotation (needs only --out)")
    parser.add_argument("--fasta-path", "--fasta", dest="fasta", default=None,
                        help="genome FASTA (plain or gzip); required unless --example")
    parser.add_argument("--load-model-path", "-l", dest="model", default=None,
                        help="base model (helixtune or Keras .h5; 'bundled' = the model shipped with helixtune); "
                             "required unless --example, which defaults to 'bundled'")
    parser.add_argument("--out", "--output", "-o", dest="out", required=True,
                        help="run directory (created; every intermediate file stays there)")
    parser.add_argument("--species", default=None, help="species name (default: FASTA name)")
    parser.add_argument("--lineage", choices=LINEAGES, default=None,
                        help="default subsequence length as in Helixer.py")
    parser.add_argument("--subsequence-length", type=int, default=None,
                        help=f"bp per subsequence (default {DEFAULT_SUBSEQUENCE_LENGTH})")
    parser.add_argument("--bam", nargs="+", default=None,
                        help="RNA-seq BAMs (sorted, indexed) added as coverage input to the tuned model")
    add_strandedness_arguments(parser)
    parser.add_argument("--fine-tune-mode", choices=list(FINE_TUNE_MODES), default=None,
                        help="what is trained (default: coverage with --bam, else whole, from the base weights)")
    parser.add_argument("--keep-fraction", type=float, default=default.keep_fraction,
                        help=f"pseudolabel subsequences kept ({default.keep_fraction:g})")
    parser.add_argument("--keep-implausible-genes", dest="mask_implausible_genes", action="store_false",
                        help="train on every decoded gene as decoded (default: genes without ATG..stop or with an "
                             "in-frame stop are masked, introns with a non-canonical splice site are masked, and "
                             "introns that read through without a stop codon are relabelled CDS)")
    parser.add_argument("--rounds", type=int, default=default.rounds,
                        help="run the loop this many times, each round from the last round's tuned model with "
                             "fresh pseudolabels; each round predicts the genome again (round k in OUT/round<k>/; "
                             "whole-network mode only; stops early when a round's pseudolabels look degenerate) (1)")
    parser.add_argument("--val-fraction", type=float, default=default.val_fraction,
                        help=f"validation share of the split ({default.val_fraction:g})")
    parser.add_argument("--seed", type=int, default=default.seed,
                        help=f"seed of the split and the training ({default.seed})")
    parser.add_argument("--epochs", type=int, default=default.epochs, help=f"fine-tuning epochs ({default.epochs})")
    parser.add_argument("--patience", type=int, default=default.patience,
                        help=f"checks without improvement before stopping ({default.patience})")
    parser.add_argument("--batch-size", type=int, default=default.train_batch_size,
                        help=f"fine-tuning batch size ({default.train_batch_size})")
    parser.add_argument("--learning-rate", type=float, default=default.learning_rate,
                        help=f"fine-tuning learning rate ({default.learning_rate:g})")
    parser.add_argument("--check-every-nth-batch", type=int, default=default.check_every_nth_batch,
                        help="validate every n batches as well as at each epoch end")
    parser.add_argument("--select-by", choices=SELECT_BY, default=default.select_by,
                        help="what picks the tuned checkpoint (as train --select-by; default auto: the gene F1 of "
                             "the validation pseudolabels' decoded genes)")
    parser.add_argument("--max-time", type=duration, default=None,
                        help="tuning budget per round, e.g. 30m or 1h (as train --max-time)")
    parser.add_argument("--max-steps", type=int, default=None, help="tuning steps per round (as train --max-steps)")
    parser.add_argument("--no-overlap", dest="overlap", action="store_false", help="predict without overlap")
    parser.add_argument("--predict-batch-size", type=int, default=default.batch_size,
                        help=f"windows per network call ({default.batch_size})")
    parser.add_argument("--device", default=default.device, help=f"{default.device} (default), cuda, cuda:N or auto")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: all)")
    add_decode_arguments(parser)
    parser.add_argument("--decoder", choices=("helixerpost", "genome"), default=SELF_TRAIN_DECODER,
                        help="decoder of both models' predictions (pseudolabels and result): 'genome' (default) "
                             "or 'helixerpost' (see docs/decode.md)")
    parser.add_argument("--params", dest="decode_params", default=None, metavar="JSON",
                        help="genome decoder parameters (default: the bundled fungal parameters)")
    add_adapt_argument(parser, "refit its statistics on the base model's first-pass genes of this genome and "
                               "decode both models' predictions with them")
    add_hints_arguments(parser)
    parser.add_argument("--allow-degenerate-labels", action="store_true",
                        help="go on even when the label-quality gate finds the pseudolabels degenerate")
    parser.add_argument("--min-genes", type=int, default=default.min_genes,
                        help=f"gate: fewest genes the base model must yield ({default.min_genes})")
    parser.add_argument("--reference-gff", default=None,
                        help="a reference annotation: the report then also scores both models against it")
    # None = not given, so --example can tell its own settings from the user's (decode default stays 0.8)
    parser.set_defaults(func=run, peak_threshold=None)
    add_config_option(parser, "epochs = 3")


def run(args) -> int:
    from helixtune.decode.options import DecodeOptions
    from helixtune.errors import HelixtuneError
    from helixtune.pipelines.self_train import self_train

    if (args.decode_params is not None or args.hints_bam or args.adapt) and args.decoder != "genome":
        raise HelixtuneError("--params, --hints-bam and --adapt-to-genome need --decoder genome")
    if args.example and (args.fasta or args.reference_gff):
        raise HelixtuneError("--example brings its own genome and reference; drop --fasta / --reference-gff")
    if not args.example and not (args.fasta and args.model):
        raise HelixtuneError("--fasta and --load-model-path are required (or use --example)")

    options = SelfTrainOptions(
        species=args.species, subsequence_length=args.subsequence_length, lineage=args.lineage, bam=args.bam,
        strandedness=args.strandedness, fine_tune_mode=args.fine_tune_mode,
        keep_fraction=args.keep_fraction,
        mask_implausible_genes=args.mask_implausible_genes,
        rounds=args.rounds,
        val_fraction=args.val_fraction, seed=args.seed, overlap=args.overlap, batch_size=args.predict_batch_size,
        device=args.device, threads=args.threads,
        decode=DecodeOptions(args.window_size, args.edge_threshold,
                             DecodeOptions.peak_threshold if args.peak_threshold is None else args.peak_threshold,
                             args.min_coding_length, args.decoder, args.decode_params, tuple(args.hints_bam),
                             args.hints_strandedness, args.adapt),
        epochs=args.epochs, patience=args.patience, train_batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        check_every_nth_batch=args.check_every_nth_batch, select_by=args.select_by, max_time=args.max_time,
        max_steps=args.max_steps,
        allow_degenerate_labels=args.allow_degenerate_labels, min_genes=args.min_genes,
        reference_gff=args.reference_gff)
    if args.example:
        return run_example(args, options)
    result = self_train(args.fasta, args.model, args.out, options)
    print(f"tuned model: {result.tuned_model}\nannotation:  {result.tuned_gff}\nreport:      {result.report}\n"
          f"steps run: {len(result.run_steps)}, skipped (complete): {len(result.skipped_steps)}", file=sys.stderr)
    print(open(result.report, encoding="utf-8").read())
    return 0


def run_example(args, options) -> int:
    """--example: the example's own settings, except for options given on the command line."""
    import dataclasses

    from helixtune.decode.options import DecodeOptions
    from helixtune.pipelines.example import example_options
    from helixtune.pipelines.example import run_example as run

    chosen, defaults = example_options(), SelfTrainOptions()
    for field in dataclasses.fields(SelfTrainOptions):  # a value other than the plain default was given
        if field.name not in ("decode", "reference_gff") and \
                getattr(options, field.name) != getattr(defaults, field.name):
            setattr(chosen, field.name, getattr(options, field.name))
    for field in dataclasses.fields(DecodeOptions):
        if getattr(options.decode, field.name) != getattr(defaults.decode, field.name):
            setattr(chosen.decode, field.name, getattr(options.decode, field.name))
    if args.peak_threshold is not None:
        chosen.decode.peak_threshold = args.peak_threshold
    result = run(args.out, args.model or "bundled", chosen)
    print(f"tuned model: {result.run.tuned_model}\nannotation:  {result.run.tuned_gff}\nreport:      "
          f"{result.run.report}\ntraining log: {result.training_log}", file=sys.stderr)
    print(f"{result.header}\n\n{result.table}\n\n{result.verdict}")
    return 0
