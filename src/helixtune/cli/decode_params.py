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
    fit.add_argument("--predictions", default=None, metavar="H5",
                     help="a model's predictions of the first genome: calibrate the emission weight (and peak "
                          "threshold) by decoding them with several values and keeping the best gene and CDS-exon "
                          "F1 against the first annotation")
    fit.add_argument("--genome-h5", default=None, metavar="H5",
                     help="the genome h5 of the first genome that the predictions were made from (needed with "
                          "--predictions)")
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
    base = DecodeParams.load(args.start_from) if args.start_from else None
    params = fit_params(args.gff3, args.fasta, base=base,
                        progress=lambda message: print(message, file=sys.stderr))
    if args.predictions is not None:
        from helixtune.decode.calibrate import calibrate_emission_weight

        params = calibrate_emission_weight(params, args.genome_h5, args.predictions, args.gff3[0], args.fasta[0],
                                           threads=args.threads,
                                           progress=lambda message: print(message, file=sys.stderr))
    params.save(args.output)
    medians = params.medians
    print(f"fitted on {params.source['genes']} genes ({params.source['introns']} introns): median intron "
          f"{medians['intron']:.0f} bp, median CDS exon {medians['cds_exon']:.0f} bp, emission weight "
          f"{params.emission_weight:g}: {args.output}", file=sys.stderr)
    return 0
