"""`helixtune decode` (alias `helixer-post`): genome h5 + predictions h5 -> GFF3, as HelixerPost."""

from __future__ import annotations

import sys

from helixtune.errors import HelixtuneError

USAGE_FORMS = ("GENOME_H5 PREDICTIONS_H5 OUT_GFF3",
               "GENOME_H5 PREDICTIONS_H5 WINDOW_SIZE EDGE_THRESHOLD PEAK_THRESHOLD MIN_CODING_LENGTH OUT_GFF3")
DEFAULTS = {"window_size": 100, "edge_threshold": 0.1, "peak_threshold": 0.8, "min_coding_length": 60}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "decode", aliases=["helixer-post"], help="decode base-wise predictions into gene models (GFF3), as HelixerPost",
        usage="helixtune decode [options] " + USAGE_FORMS[0] + "\n       helixtune decode [options] " + USAGE_FORMS[1],
        description="Find candidate gene regions with a sliding window over the predicted genic probability and "
                    "decode each with HelixerPost's 73-state HMM (start/stop codons, splice sites, phases). The "
                    "GFF3 is byte-identical to HelixerPost's. Arguments may also be given in HelixerPost's "
                    "positional order.")
    parser.add_argument("arguments", nargs="+", metavar="ARG",
                        help="GENOME_H5 PREDICTIONS_H5 OUT_GFF3, or HelixerPost's 7 positional arguments")
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
    parser.set_defaults(func=run)


def parse_arguments(args) -> dict:
    """Both argument forms -> keyword arguments of `decode_to_gff3` (one-line errors for misuse)."""
    values = list(args.arguments)
    named = {key: getattr(args, key) for key in DEFAULTS}
    if len(values) == 3:
        genome, predictions, out = values
        chosen = {key: DEFAULTS[key] if named[key] is None else named[key] for key in DEFAULTS}
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
    summary = decode_to_gff3(**kwargs, species=args.species, cost_model=args.cost_model, threads=args.threads)
    print(f"decoded {summary.regions} candidate regions ({summary.region_bases:,} bp) on {summary.sequences} "
          f"sequences into {summary.genes} genes: {kwargs['out_gff3']}", file=sys.stderr)
    return 0
