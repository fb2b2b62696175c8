"""Decoding base-wise predictions into gene models: a re-implementation of HelixerPost.

`decode_to_gff3(genome_h5, predictions_h5, out_gff3, ...)` is the entry point; see docs/decode.md.
Modules: `streams` (reading and stitching the h5 files), `windows` (candidate regions), `costs` (per-base
costs), `states` (the 73-state HMM), `hmm` (the search), `gff3` (output layout), `options` (`DecodeOptions`, the options of one decoding), `pipeline`
(all together).
"""

from helixtune.decode.options import DecodeOptions

__all__ = ["decode_to_gff3", "DecodeSummary", "DecodeOptions"]


def __getattr__(name: str):
    # the decoder (numba, numpy) loads on first use, so that reading DecodeOptions stays light for the CLI
    if name in ("decode_to_gff3", "DecodeSummary"):
        from helixtune.decode import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'helixtune.decode' has no attribute '{name}'")
