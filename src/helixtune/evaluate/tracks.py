"""Per-base class and phase tracks in genome coordinates, from gene models or from h5 files.

Every source (a GFF3, an annotated h5 with `data/y`, a predictions h5) is turned into, per sequence
and strand, an int8 class track (ig 0, utr 1, cds 2, intron 3; -1 = no data), an int8 phase track
(no_phase 0, phase_0..2 = 1..3; -1 = no data) and a boolean mask of usable bases. Base-wise metrics
then compare the tracks wherever both masks are true, whatever the two sources were.

Gene models become labels the way upstream's geenuff2h5 builds `y` and `phases` (docs/file-formats.md):
one transcript per gene (the longest), intergenic outside transcripts, intron = in a transcript and
in an intron (also inside UTRs), CDS = between the first and last CDS base and not intron, UTR = the
rest of the transcript; phase = bases until the next codon start, from the GFF phase at the 5' end.

h5 files are stitched from their chunks through `data/start_ends`. Annotated files keep upstream's
mask: a pool-size timestep is usable only when all its bases have sample weight 1, pooled in the
layout upstream's reader uses (padded minus chunks rotated padding-first).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from helixtune import h5layout
from helixtune.errors import InputFileError
from helixtune.evaluate.basewise import pooled_mask
from helixtune.annotation.coding_transcripts import GeneModels, Transcript


@dataclass
class StrandTracks:
    classes: np.ndarray  # int8, -1 = no data
    phases: np.ndarray  # int8, -1 = no data
    mask: np.ndarray  # bool, True = usable

    @classmethod
    def empty(cls, length: int) -> "StrandTracks":
        return cls(np.full(length, -1, np.int8), np.full(length, -1, np.int8), np.zeros(length, bool))


# ---- from gene models -------------------------------------------------------------------------------

def representative_transcripts(models: GeneModels) -> list[Transcript]:
    """One transcript per gene, as upstream's export: the longest (span, then coding length)."""
    return [max(ts, key=lambda t: (t.span[1] - t.span[0], t.coding_length)) for ts in models.genes.values()]


def tracks_from_models(transcripts: list[Transcript], seqid: str, length: int) -> dict:
    """{'+': StrandTracks, '-': StrandTracks} for one sequence of `length` bases."""
    out = {}
    for strand in ("+", "-"):
        in_transcript = np.zeros(length, bool)
        in_cds = np.zeros(length, bool)
        in_intron = np.zeros(length, bool)
        phases = np.zeros(length, np.int8)
        for t in transcripts:
            if t.seqid != seqid or t.strand != strand:
                continue
            lo, hi = min(t.span[0], t.cds_start), max(t.span[1], t.cds_end)
            in_transcript[max(lo, 0):min(hi, length)] = True
            in_cds[max(t.cds_start, 0):min(t.cds_end, length)] = True
            for s, e in t.transcript_introns:
                in_intron[max(s, 0):min(e, length)] = True
            _set_phases(phases, t, length)
        classes = np.where(~in_transcript, 0, np.where(in_intron, 3, np.where(in_cds, 2, 1))).astype(np.int8)
        phases[classes != 2] = 0  # introns inside the CDS keep "no phase"
        out[strand] = StrandTracks(classes, phases, np.ones(length, bool))
    return out


def _set_phases(phases: np.ndarray, t: Transcript, length: int) -> None:
    """Phase class 1 + (bases until the next codon start), from the 5' GFF phase, as geenuff2h5."""
    segments = t.cds if t.strand == "+" else t.cds[::-1]
    offset = 0
    for s, e in segments:
        n = e - s
        values = (1 + (t.five_prime_phase - (offset + np.arange(n))) % 3).astype(np.int8)
        if t.strand == "-":
            values = values[::-1]  # 5' end of a minus-strand segment is its high coordinate
        lo, hi = max(s, 0), min(e, length)
        if hi > lo:
            phases[lo:hi] = values[lo - s:hi - s]
        offset += n


# ---- from h5 files ----------------------------------------------------------------------------------

def h5_kind(h5) -> str:
    if h5layout.Y.path in h5:
        return "labels"
    if h5layout.PREDICTIONS.path in h5:
        return "predictions"
    raise InputFileError(h5.filename, "is neither an annotated h5 (data/y) nor a predictions h5 (predictions)")


def sequence_lengths_from_h5(h5) -> dict:
    seqids = h5layout.decode_strings(h5[h5layout.SEQIDS.path][:])
    start_ends = h5[h5layout.START_ENDS.path][:]
    lengths: dict = {}
    for seqid, (s, e) in zip(seqids, start_ends):
        lengths[seqid] = max(lengths.get(seqid, 0), int(max(s, e)))
    return lengths


def rows_of(coordinates_h5, seqid: str) -> np.ndarray:
    seqids = np.asarray(h5layout.decode_strings(coordinates_h5[h5layout.SEQIDS.path][:]))
    return np.flatnonzero(seqids == seqid)


def stitch(rows: np.ndarray, start_ends: np.ndarray, out_plus: np.ndarray, out_minus: np.ndarray) -> None:
    """Write chunk rows (genome-file layout: real bases first) into per-strand genome arrays."""
    for row, (s, e) in zip(rows, start_ends):
        if s < e:
            out_plus[s:e] = row[:e - s]
        else:
            out_minus[e:s] = row[:s - e][::-1]


def _rotate_back_if(array: np.ndarray, start_ends: np.ndarray, padding_first: bool) -> np.ndarray:
    return h5layout.rotate_minus_padding_last(array, start_ends) if padding_first else array


def tracks_from_h5(path, seqid: str, length: int, coordinates=None, padding_first: bool = False,
                   pool_size: int = 9, block_rows: int = 64) -> dict:
    """Tracks of one sequence from an annotated or predictions h5.

    `coordinates`: the h5 whose `data/seqids` and `data/start_ends` describe the rows (default: the
    file itself). `padding_first`: the predictions were written as upstream 0.3.6 does (padded minus
    chunks with their padding first); helixtune writes the genome-file layout.
    """
    with h5layout.open_h5(path) as h5:
        kind = h5_kind(h5)
        coord = h5 if coordinates is None else coordinates
        rows = rows_of(coord, seqid)
        out = {"+": StrandTracks.empty(length), "-": StrandTracks.empty(length)}
        if len(rows) == 0:
            return out
        all_start_ends = coord[h5layout.START_ENDS.path][:]
        chunk_length = h5layout.subsequence_length(h5)
        if all_start_ends.shape[0] != h5[kind == "labels" and h5layout.Y.path or h5layout.PREDICTIONS.path].shape[0]:
            raise InputFileError(path, f"has a different number of rows than its coordinates file {coord.filename}")
        has_phase = (h5layout.PHASES.path if kind == "labels" else h5layout.PREDICTIONS_PHASE.path) in h5
        for first in range(0, len(rows), block_rows):
            block = rows[first:first + block_rows]
            start_ends = all_start_ends[block]
            if kind == "labels":
                classes = _argmax_or_none(h5[h5layout.Y.path][block])
                phases = _argmax_or_none(h5[h5layout.PHASES.path][block]) if has_phase else None
                sw = h5[h5layout.SAMPLE_WEIGHTS.path][block]
                # upstream pools the mask in its reading layout (padded minus chunks padding-first)
                mask = pooled_mask(h5layout.rotate_minus_padding_first(sw, start_ends), pool_size)
                mask = h5layout.rotate_minus_padding_last(mask, start_ends)
                mask &= classes >= 0
            else:
                predictions = _rotate_back_if(h5[h5layout.PREDICTIONS.path][block], start_ends, padding_first)
                if np.isnan(predictions).any():
                    raise InputFileError(path, f"the predictions for {seqid} contain NaN (not-a-number) "
                                               "probabilities; the model that made them is damaged")
                classes = predictions.argmax(-1).astype(np.int8)
                phases = None
                if has_phase:
                    phase_probs = _rotate_back_if(h5[h5layout.PREDICTIONS_PHASE.path][block], start_ends,
                                                  padding_first)
                    phases = phase_probs.argmax(-1).astype(np.int8)
                mask = np.ones(classes.shape, bool)
                clipped = chunk_length % pool_size  # bases upstream never predicts (zero-filled)
                if clipped:
                    mask = _rotate_back_if(np.concatenate(
                        [np.ones((len(block), chunk_length - clipped), bool), np.zeros((len(block), clipped), bool)],
                        axis=1), start_ends, padding_first)
            stitch(classes, start_ends, out["+"].classes, out["-"].classes)
            stitch(mask, start_ends, out["+"].mask, out["-"].mask)
            if phases is not None:
                stitch(phases, start_ends, out["+"].phases, out["-"].phases)
        for strand in out.values():
            strand.mask &= strand.classes >= 0
        return out


def _argmax_or_none(one_hot: np.ndarray) -> np.ndarray:
    """Argmax of one-hot rows; -1 where a row is all zero (padding)."""
    classes = one_hot.argmax(-1).astype(np.int8)
    classes[one_hot.max(-1) <= 0] = -1
    return classes


def window_from_h5(path, dataset: str, seqid: str, strand: str, start: int, end: int, coordinates=None,
                   padding_first: bool = False) -> np.ndarray | None:
    """Values of a per-base dataset (e.g. predictions, coverage) over [start, end) of one strand, in
    genome order; NaN where no chunk covers a base. For plots."""
    with h5layout.open_h5(path) as h5:
        if dataset not in h5:
            return None
        coord = h5 if coordinates is None else coordinates
        rows = rows_of(coord, seqid)
        start_ends = coord[h5layout.START_ENDS.path][:][rows]
        tail = h5[dataset].shape[2:]
        out = np.full((end - start,) + tail, np.nan, np.float32)
        for row, (s, e) in zip(rows, start_ends):
            lo, hi = min(s, e), max(s, e)
            if (s < e) != (strand == "+") or hi <= start or lo >= end:
                continue
            values = h5[dataset][row].astype(np.float32)
            if padding_first and s > e and hi - lo < values.shape[0]:
                values = np.concatenate([values[values.shape[0] - (hi - lo):], values[:values.shape[0] - (hi - lo)]])
            a, b = max(lo, start), min(hi, end)
            window = values[h5layout.row_slice((s, e), a, b)]
            out[a - start:b - start] = window if s < e else window[::-1]
        return out
