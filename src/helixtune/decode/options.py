"""The options of one decoding, as one value: what `decode_to_gff3(..., options=...)` and the pipelines take."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

# the library strandedness of RNA-seq hints when none is given (the aligner's XS tag then gives the strand)
DEFAULT_HINTS_STRANDEDNESS = "unstranded"


def resolve_adapt(adapt: bool | None, params) -> bool:
    """Whether the genome decoder adapts its statistics to the genome: as asked, or (None) only when it decodes
    with the bundled lineage parameters (`params` None), not with parameters a user fitted for the species."""
    return params is None if adapt is None else bool(adapt)


@dataclass
class DecodeOptions:
    """HelixerPost's positional parameters, with Helixer.py's defaults; the decoder, its parameter file, its
    RNA-seq intron hints and whether it adapts its statistics to the genome."""

    window_size: int = 100
    edge_threshold: float = 0.1
    peak_threshold: float = 0.8
    min_coding_length: int = 100
    decoder: str = "helixerpost"  # or "genome" (see docs/decode.md)
    params: object = None  # genome decoder: a parameter file or a DecodeParams (None: the bundled one)
    hints_bam: tuple = ()  # genome decoder: RNA-seq BAM files whose spliced reads support introns
    strandedness: str = DEFAULT_HINTS_STRANDEDNESS  # of the hints' library
    adapt: bool | None = None  # genome decoder: refit the statistics on a first pass (None: with bundled params)
    allow_noncanonical: bool = False  # genome decoder: also AT-AC introns, with whichever parameters it uses

    def keywords(self) -> dict:
        """`decode_to_gff3` keywords; the fields after the thresholds only when not their defaults (so the
        step keys a pipeline recorded before those fields existed still match)."""
        values = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}  # params stays as given
        values["hints_bam"] = [str(path) for path in self.hints_bam]
        for name in ("decoder", "params", "hints_bam", "strandedness", "adapt", "allow_noncanonical"):
            if values[name] == getattr(DecodeOptions, name) or (name == "hints_bam" and not values[name]):
                del values[name]
        return values


# a model file's metadata entry with genome-decoder parameters fitted for it (train --decoder-statistics)
MODEL_PARAMS_KEY = "decode_params"


def model_decode_params(metadata: dict):
    """The genome-decoder parameters (`DecodeParams`) a model file carries, or None."""
    from helixtune.decode.params import DecodeParams

    document = (metadata or {}).get(MODEL_PARAMS_KEY)
    return DecodeParams.from_json(document, "the model's decode_params") if document else None


def predictions_decode_params(predictions_h5):
    """The genome-decoder parameters a predictions file carries from its model (`predict` copies them), or None."""
    import json

    from helixtune import h5layout
    from helixtune.decode.params import DecodeParams

    with h5layout.open_h5(predictions_h5) as h5:
        text = h5.attrs.get(MODEL_PARAMS_KEY)
    if text is None:
        return None
    text = text.decode() if isinstance(text, bytes) else str(text)
    return DecodeParams.from_json(json.loads(text), f"{predictions_h5}: the model's decode_params")
