"""`helixtune decode` (alias `helixer-post`): genome h5 + predictions h5 -> GFF3, as HelixerPost or with the
genome decoder (`--decoder genome`)."""

from __future__ import annotations

import argparse
import sys

from helixtune.cli.strandedness import add_strandedness_group
from helixtune.errors import HelixtuneError

USAGE_FORMS = ("GENOME_H5 PREDICTIONS_H5 OUT_GFF3",
               "GENOME_H5 PREDICTIONS_H5 WINDOW_SIZE EDGE_THRESHOLD PEAK_THRESHOLD MIN_CODING_LENGTH OUT_GFF3")
DEFAULTS = {"window_size": 100, "edge_threshold": 0.1, "peak_threshold": 0.8, "min_coding_length": 60}


def add_genome_decoder_arguments(parser, hints: bool = True, default: str = "helixerpost") -> None:
    """--decoder (default `default`), --params and (with `hints`) --hints-bam and its strandedness options."""
    marks = {name: " (default)" if name == default else "" for name in ("helixerpost", "genome")}
    parser.add_argument("--decoder", choices=("helixerpost", "genome"), default=default,
                        help=f"'helixerpost'{marks['helixerpost']}: HelixerPost's HMM, byte-identical output; "
                             f"'genome'{marks['genome']}: the same gene grammar with splice sites and start codons "
                             "checked against the sequence and lineage length statistics (see docs/decode.md)")
    parser.add_argument("--params", dest="decode_params", default=None, metavar="JSON",
                        help="genome decoder parameters from `helixtune decode-params fit` (default: the bundled "
                             "fungal parameters); its thresholds apply unless given as options")
    parser.add_argument("--allow-noncanonical", action="store_true",
                        help="genome decoder: also decode AT-AC (U12) introns (default: GT-AG and GC-AG only)")
    add_adapt_argument(parser, "decode once, refit the length, splice-site, start and codon statistics on those "
                               "genes of this genome, and decode again with them")
    if hints:
        add_hints_arguments(parser)


def add_adapt_argument(parser, what: str) -> None:
    """--adapt-to-genome / --no-adapt-to-genome (None when not given: `resolve_adapt` decides)."""
    parser.add_argument("--adapt-to-genome", dest="adapt", action=argparse.BooleanOptionalAction, default=None,
                        help=f"genome decoder: {what} (default: on with the bundled parameters, off with --params)")


def add_hints_arguments(parser) -> None:
    """--hints-bam and the strandedness of its library (genome decoder)."""
    parser.add_argument("--hints-bam", nargs="+", default=[], metavar="BAM",
                        help="genome decoder: sorted, indexed RNA-seq BAM files whose spliced reads make the "
                             "introns they support cheaper, in proportion to the log of their read count")
    add_strandedness_group(parser, prefix="hints-", dest="hints_strandedness", what="hints BAM library",
                           notes={"unstranded": " (default): the aligner's XS tag gives the strand where present"})
    parser.set_defaults(hints_strandedness="unstranded")


def genome_decoder_keywords(args) -> dict:
    """The `decode_to_gff3` keywords of the options added by `add_genome_decoder_arguments`."""
    keywords = {"decoder": args.decoder}
    hints = list(getattr(args, "hints_bam", []) or [])
    if args.decoder != "genome":
        if args.decode_params is not None or args.allow_noncanonical or hints or args.adapt:
            raise HelixtuneError("--params, --allow-noncanonical, --hints-bam and --adapt-to-genome need "
                                 "--decoder genome")
        return keywords
    from helixtune.decode.options import resolve_adapt
    from helixtune.decode.params import DecodeParams

    # None: the bundled parameters, or those the predictions carry from their model, adapted to the genome
    # unless told not to; --allow-noncanonical applies to whichever are used
    params = None if args.decode_params is None else DecodeParams.load(args.decode_params)
    keywords["params"] = params
    keywords["adapt"] = args.adapt if params is None else resolve_adapt(args.adapt, args.decode_params)
    if args.allow_noncanonical:
        keywords["allow_noncanonical"] = True
    if hints:
        keywords["hints_bam"] = hints
        keywords["strandedness"] = args.hints_strandedness
    return keywords


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "decode", aliases=["helixer-post"], help="decode base-wise predictions into gene models (GFF3), as HelixerPost",
        usage="helixtune decode [options] " + USAGE_FORMS[0] + "\n       helixtune decode [options] " + USAGE_FORMS[1],
        description="Find candidate gene regions with a sliding window over the predicted genic probability and "
                    "decode each with HelixerPost's 73-state HMM (start/stop codons, splice sites, phases). The "
                    "GFF3 is byte-identical to HelixerPost's. Arguments may also be given in HelixerPost's "
                    "positional order.")
    parser.add_argument("arguments", nargs="+", metavar="ARG",
                        help="GENOME_H5 PREDICTIONS_H5 OUT_GFF3, or HelixerPost's 7 positional arguments; with "
                             "-o, GENOME_H5 PREDICTIONS_H5 alone")
    parser.add_argument("-o", "--output", dest="output", default=None, metavar="OUT_GFF3",
                        help="the GFF3 to write (instead of the last positional argument), as in every command")
    parser.add_argument("--window-size", type=int, default=None,
                        help=f"sliding window in bp (default {DEFAULTS['window_size']})")
    parser.add_argument("--edge-threshold", type=float, default=None,
                        help="mean genic probability that starts/ends a candidate region "
                             f"(default {DEFAULTS['edge_threshold']})")
    parser.add_argument("--peak-threshold", type=float, default=None,
                        help="a region is decoded only if some window's mean genic probability exceeds this "
                             f"(default {DEFAULTS['peak_threshold']})")
    parser.add_argument("--min-coding-length", type=int, default=None,
                        help="genes with fewer coding bp are dropped (default "
                             f"{DEFAULTS['min_coding_length']}; Helixer.py uses 100)")
    parser.add_argument("--species", "--gene-prefix", dest="species", default=None,
                        help="name for the ##species line and the gene-ID prefix (default: data/species)")
    parser.add_argument("--cost-model", choices=("head", "corrected", "b674af9"), default="head",
                        help="emission costs: 'head' = current HelixerPost (default), 'corrected' = codon "
                             "position 2 costed like the others, 'b674af9' = HelixerPost before 2024-10-28")
    parser.add_argument("--threads", type=int, default=None, help="regions decoded in parallel (default: all cores)")
    add_genome_decoder_arguments(parser)
    parser.set_defaults(func=run)


def parse_arguments(args) -> dict:
    """Both argument forms -> keyword arguments of `decode_to_gff3` (one-line errors for misuse)."""
    values = list(args.arguments)
    if getattr(args, "output", None) is not None:
        if len(values) not in (2, 6):
            raise HelixtuneError(f"with -o, give GENOME_H5 PREDICTIONS_H5 (or HelixerPost's first 6 arguments), "
                                 f"got {len(values)} arguments")
        values.append(args.output)
    named = {key: getattr(args, key) for key in DEFAULTS}
    genome_decoder = getattr(args, "decoder", "helixerpost") == "genome"
    if len(values) == 3:
        genome, predictions, out = values
        # the genome decoder takes what is not given from its parameter file
        chosen = {key: (None if genome_decoder else DEFAULTS[key]) if named[key] is None else named[key]
                  for key in DEFAULTS}
    elif len(values) == 7:
        genome, predictions, window, edge, peak, min_coding, out = values
        try:
            chosen = {"window_size": int(window), "edge_threshold": float(edge), "peak_threshold": float(peak),
                      "min_coding_length": int(min_coding)}
        except ValueError:
            raise HelixtuneError("in the 7-argument form, WINDOW_SIZE and MIN_CODING_LENGTH must be integers and "
                                 "the thresholds numbers: " + " ".join(values[2:6])) from None
        for key, value in named.items():
            if value is not None and value != chosen[key]:
                raise HelixtuneError(f"--{key.replace('_', '-')} {value} contradicts the positional value "
                                     f"{chosen[key]}")
    else:
        raise HelixtuneError(f"expected 3 or 7 arguments ({USAGE_FORMS[0]} | {USAGE_FORMS[1]}), got {len(values)}")
    return dict(genome_h5=genome, predictions_h5=predictions, out_gff3=out, **chosen)


def run(args) -> int:
    from helixtune.decode import decode_to_gff3

    kwargs = parse_arguments(args)
    kwargs.update(genome_decoder_keywords(args))
    if args.decoder == "genome" and args.cost_model != "head":
        raise HelixtuneError("--cost-model applies to the helixerpost decoder only")
    summary = decode_to_gff3(**kwargs, species=args.species, cost_model=args.cost_model, threads=args.threads)
    extra = ""
    if summary.decoder == "genome":
        extra = f" (genome decoder; {summary.split_regions} long regions cut; {summary.trimmed_utr_bases:,} UTR bp " \
                f"without network support trimmed, baseline {summary.utr_baseline_bits:.2f} bits"
        extra += f", {summary.hinted_junctions} RNA-seq junctions as hints" if kwargs.get("hints_bam") else ""
        extra += "; the statistics the model carries, fitted on its training labels" if summary.model_statistics else ""
        extra += f"; {summary.adapted})" if summary.adapted else ")"
    print(f"decoded {summary.regions} candidate regions ({summary.region_bases:,} bp) on {summary.sequences} "
          f"sequences into {summary.genes} genes{extra}: {kwargs['out_gff3']}", file=sys.stderr)
    return 0
