"""`helixtune self-train`: the whole pseudolabel fine-tuning loop for one genome, resumable."""

from __future__ import annotations

import sys

from helixtune.cli.annotate import add_decode_arguments, add_strandedness_arguments


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "self-train", help="fine-tune a model on its own most confident predictions for a genome (resumable)",
        description="encode -> predict -> decode -> import/export -> select-confident -> split -> fine-tune -> "
                    "predict and decode with the tuned model -> report comparing base and tuned model. Every step "
                    "skips itself when its output in --out is complete, so rerunning an interrupted command "
                    "resumes it. Stops when the pseudolabels are degenerate.")
    parser.add_argument("--fasta-path", "--fasta", dest="fasta", required=True, help="genome FASTA (plain or gzip)")
    parser.add_argument("--load-model-path", dest="model", required=True, help="base model (helixtune or Keras .h5)")
    parser.add_argument("--out", required=True, help="run directory (created; every intermediate file stays there)")
    parser.add_argument("--species", default=None, help="species name (default: FASTA name)")
    parser.add_argument("--lineage", choices=("vertebrate", "land_plant", "fungi", "invertebrate"), default=None,
                        help="default subsequence length as in Helixer.py")
    parser.add_argument("--subsequence-length", type=int, default=None, help="bp per subsequence (default 21384)")
    parser.add_argument("--bam", nargs="+", default=None,
                        help="RNA-seq BAMs (sorted, indexed) added as coverage input to the tuned model")
    add_strandedness_arguments(parser)
    parser.add_argument("--fine-tune-mode", choices=("head", "head+hidden", "whole", "coverage"), default=None,
                        help="what is trained (default: coverage with --bam, else whole, from the base weights)")
    parser.add_argument("--keep-fraction", type=float, default=0.2, help="pseudolabel subsequences kept (0.2)")
    parser.add_argument("--val-fraction", type=float, default=0.2, help="validation share of the split (0.2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split and the training (0)")
    parser.add_argument("--epochs", type=int, default=5, help="fine-tuning epochs (5)")
    parser.add_argument("--patience", type=int, default=2, help="checks without improvement before stopping (2)")
    parser.add_argument("--batch-size", type=int, default=8, help="fine-tuning batch size (8)")
    parser.add_argument("--learning-rate", type=float, default=1e-4, help="fine-tuning learning rate (1e-4)")
    parser.add_argument("--check-every-nth-batch", type=int, default=1_000_000,
                        help="validate every n batches as well as at each epoch end")
    parser.add_argument("--no-overlap", dest="overlap", action="store_false", help="predict without overlap")
    parser.add_argument("--predict-batch-size", type=int, default=32, help="windows per network call (32)")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N or auto")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: all)")
    add_decode_arguments(parser)
    parser.add_argument("--allow-degenerate-labels", action="store_true",
                        help="go on even when the label-quality gate finds the pseudolabels degenerate")
    parser.add_argument("--min-genes", type=int, default=5, help="gate: fewest genes the base model must yield (5)")
    parser.add_argument("--reference-gff", default=None,
                        help="a reference annotation: the report then also scores both models against it")
    parser.set_defaults(func=run)


def run(args) -> int:
    from helixtune.annotate import DecodeOptions
    from helixtune.pseudolabel.pipeline import SelfTrainOptions, self_train

    options = SelfTrainOptions(
        species=args.species, subsequence_length=args.subsequence_length, lineage=args.lineage, bam=args.bam,
        strandedness=args.strandedness, fine_tune_mode=args.fine_tune_mode, keep_fraction=args.keep_fraction,
        val_fraction=args.val_fraction, seed=args.seed, overlap=args.overlap, batch_size=args.predict_batch_size,
        device=args.device, threads=args.threads,
        decode=DecodeOptions(args.window_size, args.edge_threshold, args.peak_threshold, args.min_coding_length),
        epochs=args.epochs, patience=args.patience, train_batch_size=args.batch_size,
        learning_rate=args.learning_rate, check_every_nth_batch=args.check_every_nth_batch,
        allow_degenerate_labels=args.allow_degenerate_labels, min_genes=args.min_genes,
        reference_gff=args.reference_gff)
    result = self_train(args.fasta, args.model, args.out, options)
    print(f"tuned model: {result.tuned_model}\nannotation:  {result.tuned_gff}\nreport:      {result.report}\n"
          f"steps run: {len(result.run_steps)}, skipped (complete): {len(result.skipped_steps)}", file=sys.stderr)
    print(open(result.report, encoding="utf-8").read())
    return 0
