"""`helixtune decode-params fit`: genome-decoder parameters (JSON) from reference annotations."""

from __future__ import annotations

import sys

from helixtune.errors import HelixtuneError


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "decode-params", help="fit the genome decoder's parameters (lengths, splice and start statistics) from "
                              "reference annotations",
        description="Parameters of `helixtune decode --decoder genome`: intron, exon, UTR and intergenic lengths, "
                    "intron frequency, splice-motif frequencies and donor, acceptor and start-codon weight "
                    "matrices, estimated from reference annotations and their genomes; written as a small "
                    "JSON file for `decode --params`.")
    actions = parser.add_subparsers(dest="action", metavar="<action>", title="actions")
    fit = actions.add_parser("fit", help="fit parameters from GFF3 annotations and their FASTA genomes",
                             description="Fit genome-decoder parameters from one or more GFF3 annotations (plain "
                                         "or gzip), each with its FASTA genome, given in the same order.")
    fit.add_argument("--gff3", nargs="+", required=True, metavar="GFF3", help="reference annotations")
    fit.add_argument("--fasta", nargs="+", required=True, metavar="FASTA",
                     help="their genomes, in the same order (plain or gzip)")
    fit.add_argument("--predictions", nargs="+", default=None, metavar="H5",
                     help="a model's predictions of the first genome(s) (or of --calibration-fasta): calibrate the "
                          "emission weight (and whatever --grid names) by decoding them at every grid point and "
                          "keeping the best mean gene F1 against their annotations")
    fit.add_argument("--genome-h5", nargs="+", default=None, metavar="H5",
                     help="the genome h5 each --predictions file was made from, in the same order (needed with "
                          "--predictions); only its sequences are scored, so a validation h5 of held-out sequences "
                          "calibrates on those")
    fit.add_argument("--calibration-gff3", nargs="+", default=None, metavar="GFF3",
                     help="calibrate against these annotations (one per --predictions) instead of the first --gff3 "
                          "files (so the calibration genomes can be held out of the fitted statistics)")
    fit.add_argument("--calibration-fasta", nargs="+", default=None, metavar="FASTA",
                     help="the genomes of --calibration-gff3")
    fit.add_argument("--grid", nargs="+", default=None, metavar="NAME=V1,V2",
                     help="settings to calibrate and their values, e.g. emission_weight=0.01,0.03 "
                          "splice_weight=1,2 (every combination is decoded; default emission_weight="
                          "0.3,0.1,0.03,0.01,0.003 and peak_threshold=0.8); names: emission_weight, "
                          "peak_threshold, edge_threshold, splice_weight, start_weight, coding_weight, "
                          "mean_intergenic, introns_per_coding_base")
    fit.add_argument("--start-from", default=None, metavar="JSON",
                     help="start from this parameter file (keeps its thresholds and weights)")
    fit.add_argument("-o", "--output", required=True, metavar="JSON", help="parameter file to write")
    fit.add_argument("--threads", type=int, default=None, help="threads for the calibration decodes")
    fit.set_defaults(func=run)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def run(args) -> int:
    from helixtune.decode.params import DecodeParams, fit_params

    if len(args.gff3) != len(args.fasta):
        raise HelixtuneError(f"--gff3 names {len(args.gff3)} files but --fasta {len(args.fasta)}; give one genome "
                             "per annotation, in the same order")
    if args.predictions is not None and args.genome_h5 is None:
        raise HelixtuneError("--predictions needs --genome-h5 (the genome h5 the predictions were made from)")
    if (args.calibration_gff3 is None) != (args.calibration_fasta is None):
        raise HelixtuneError("--calibration-gff3 and --calibration-fasta go together")
    if args.calibration_gff3 is not None and args.predictions is None:
        raise HelixtuneError("--calibration-gff3 needs --predictions (and --genome-h5) of that genome")
    if args.grid is not None and args.predictions is None:
        raise HelixtuneError("--grid needs --predictions (and --genome-h5)")
    sets = []
    if args.predictions is not None:
        from helixtune.decode.calibrate import CalibrationSet, parse_grid

        grid = parse_grid(args.grid)
        gff3s = args.calibration_gff3 or args.gff3
        fastas = args.calibration_fasta or args.fasta
        n = len(args.predictions)
        if len(args.genome_h5) != n:
            raise HelixtuneError(f"--predictions names {n} files but --genome-h5 {len(args.genome_h5)}; give the "
                                 "genome h5 of each, in the same order")
        if args.calibration_gff3 is not None and not len(gff3s) == len(fastas) == n:
            raise HelixtuneError(f"--predictions names {n} files but --calibration-gff3 {len(gff3s)} and "
                                 f"--calibration-fasta {len(fastas)}; give one annotation and genome per predictions "
                                 "file, in the same order")
        if len(gff3s) < n:
            raise HelixtuneError(f"--predictions names {n} files but --gff3 only {len(gff3s)}; the predictions are "
                                 "of the first --gff3 genomes, in order (or name --calibration-gff3)")
        sets = [CalibrationSet(args.predictions[i], args.genome_h5[i], gff3s[i], fastas[i]) for i in range(n)]
    base = DecodeParams.load(args.start_from) if args.start_from else None
    params = fit_params(args.gff3, args.fasta, base=base,
                        progress=lambda message: print(message, file=sys.stderr))
    if sets:
        from helixtune.decode.calibrate import calibrate

        params = calibrate(params, sets, grid, threads=args.threads,
                           progress=lambda message: print(message, file=sys.stderr))
    params.save(args.output)
    medians = params.medians
    print(f"fitted on {params.source['genes']} genes ({params.source['introns']} introns): median intron "
          f"{medians['intron']:.0f} bp, median CDS exon {medians['cds_exon']:.0f} bp, emission weight "
          f"{params.emission_weight:g}: {args.output}", file=sys.stderr)
    return 0
