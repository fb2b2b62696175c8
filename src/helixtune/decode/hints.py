"""Intron hints for the genome decoder: splice junctions counted from RNA-seq alignments (pysam).

Every N operation of a primary, mapped, QC-passed read is a junction [start, end) (0-based, the intron's
first base and the first base after it) on the strand of the read's mRNA, decided as `add-coverage` does
(`helixtune.coverage.bam.Strandedness`). Unstranded reads use the aligner's `XS` tag when present and
otherwise count on both strands (the decoder's splice-site check then keeps only the strand whose
motif fits). Unspliced reads are no intron evidence and are ignored. Deletions (D) are not junctions.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from helixtune.coverage.bam import Strandedness, open_bam
from helixtune.errors import HelixtuneError, InputFileError

_SKIP_FLAGS = 0x4 | 0x100 | 0x200
_N_OP = 3
_REFERENCE_OPS = (0, 2, 3, 7, 8)  # M, D, N, =, X move along the reference


def count_junctions(bam_paths, strandedness, sequences: dict[str, int]) -> dict:
    """{(seqid, '+'|'-'): Counter({(start, end): reads})} over `sequences` ({seqid: length}).

    One-line errors for a missing, unsorted or unindexed BAM and for a BAM that shares no sequence with
    the genome (or whose contig lengths differ from it).
    """
    strandedness = Strandedness(strandedness)
    counts: dict = {}
    for bam_path in bam_paths:
        bam = open_bam(bam_path)
        try:
            lengths = dict(zip(bam.references, bam.lengths))
            shared = [s for s in sequences if s in lengths]
            if not shared:
                shown = ", ".join(list(lengths)[:3]) + (", ..." if len(lengths) > 3 else "")
                wanted = ", ".join(list(sequences)[:3]) + (", ..." if len(sequences) > 3 else "")
                raise InputFileError(bam_path, f"shares no sequence with the genome (BAM contigs: {shown}; "
                                               f"genome: {wanted}); was it aligned to another assembly?")
            for seqid in shared:
                if lengths[seqid] != sequences[seqid]:
                    raise InputFileError(bam_path, f"contig '{seqid}' is {lengths[seqid]} bp long but the "
                                                   f"genome's is {sequences[seqid]} bp; was it aligned to "
                                                   "another assembly?")
                plus = counts.setdefault((seqid, "+"), Counter())
                minus = counts.setdefault((seqid, "-"), Counter())
                for read in bam.fetch(seqid):
                    flag = read.flag
                    if flag & _SKIP_FLAGS:
                        continue
                    cigar = read.cigartuples
                    if not cigar or not any(op == _N_OP for op, _ in cigar):
                        continue
                    if strandedness is Strandedness.UNSTRANDED:
                        xs = read.get_tag("XS") if read.has_tag("XS") else None
                        targets = (plus,) if xs == "+" else (minus,) if xs == "-" else (plus, minus)
                    else:
                        is_minus = bool(flag & 0x10) != strandedness.flips(flag)
                        targets = (minus,) if is_minus else (plus,)
                    position = read.reference_start
                    for op, length in cigar:
                        if op == _N_OP:
                            for target in targets:
                                target[(position, position + length)] += 1
                        if op in _REFERENCE_OPS:
                            position += length
        except (OSError, ValueError) as err:
            raise InputFileError(bam_path, f"could not be read ({str(err).splitlines()[0]})") from None
        finally:
            bam.close()
    return counts


def stream_hints(junctions: Counter, reverse: bool, length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Junctions of one strand in stream coordinates: (donor, acceptor, reads), sorted by donor.

    On the minus stream (position p = length - 1 - genomic position) the intron [s, e) becomes
    [length - e, length - s).
    """
    if not junctions:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64)
    items = np.array([(s, e, c) for (s, e), c in junctions.items()], np.int64)
    if reverse:
        donor, acceptor = length - items[:, 1], length - items[:, 0]
    else:
        donor, acceptor = items[:, 0], items[:, 1]
    order = np.lexsort((acceptor, donor))
    return donor[order], acceptor[order], items[order, 2].astype(np.float64)


def region_hints(hints, start: int, end: int, weight: float):
    """The hints inside stream region [start, end), in region coordinates, with their bonus in bits."""
    donor, acceptor, reads = hints
    lo = np.searchsorted(donor, start)
    hi = np.searchsorted(donor, end)
    d, a, r = donor[lo:hi] - start, acceptor[lo:hi] - start, reads[lo:hi]
    inside = a < end - start
    return d[inside], a[inside], weight * np.log2(1.0 + r[inside])


def check_strandedness(value: str) -> str:
    try:
        return Strandedness(value).value
    except ValueError:
        raise HelixtuneError(f"unknown strandedness '{value}' (choose from "
                             f"{', '.join(s.value for s in Strandedness)})") from None
