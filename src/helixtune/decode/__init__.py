"""Decoding base-wise predictions into gene models: a re-implementation of HelixerPost.

`decode_to_gff3(genome_h5, predictions_h5, out_gff3, ...)` is the entry point; see docs/decode.md.
Modules: `streams` (reading and stitching the h5 files), `windows` (candidate regions), `costs` (per-base
costs), `states` (the 73-state HMM), `hmm` (the search), `gff3` (output layout), `pipeline` (all together).
"""

from helixtune.decode.pipeline import DecodeSummary, decode_to_gff3

__all__ = ["decode_to_gff3", "DecodeSummary"]
