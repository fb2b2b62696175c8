"""Subsequence lengths: the default, and upstream Helixer.py's default per lineage.

A genome is cut into subsequences (chunks) of one length L for encoding, labels and prediction; a model
works best at the L it was trained on, and L must be a multiple of the model's pool size.
"""

from __future__ import annotations

from helixtune.errors import HelixtuneError

DEFAULT_SUBSEQUENCE_LENGTH = 21384
# Helixer.py's default L when --lineage is given and --subsequence-length is not
LINEAGE_SUBSEQUENCE_LENGTHS = {"vertebrate": 213840, "land_plant": 64152, "fungi": DEFAULT_SUBSEQUENCE_LENGTH,
                               "invertebrate": 213840}
LINEAGES = tuple(LINEAGE_SUBSEQUENCE_LENGTHS)


def subsequence_length(given: int | None, lineage: str | None, trained: int | None, pool_size: int) -> int:
    """L from, in order: the length given, the lineage's, the model's training data's (`trained`), the default;
    checked to be a positive multiple of the pool size."""
    if given is None and lineage is not None:
        if lineage not in LINEAGE_SUBSEQUENCE_LENGTHS:
            raise HelixtuneError(f"--lineage must be one of {', '.join(LINEAGES)}, got '{lineage}'")
        given = LINEAGE_SUBSEQUENCE_LENGTHS[lineage]
    if given is None:
        given = trained or DEFAULT_SUBSEQUENCE_LENGTH
    length = int(given)
    if length <= 0 or length % pool_size:
        raise HelixtuneError(f"--subsequence-length {length} must be a positive multiple of the model's "
                             f"pool size ({pool_size})")
    return length
