"""Per-base read coverage from sorted, indexed BAM files, computed from CIGAR operations with pysam.

Counting follows upstream Helixer's `add_ngs_coverage.py` (which uses HTSeq) read for read:

- skipped: unmapped, secondary (flag 0x100) and QC-failed (0x200) records; duplicates and supplementary
  alignments are counted, as upstream does;
- coverage: +1 over the reference interval of every M, = and X operation;
- spliced coverage: +1 over every N **and D** operation (upstream counts deletions as "spliced" on purpose:
  a small error for real deletions, a large one avoided for aligners that write introns as D);
- strand: the strand of the mRNA the read came from (see `Strandedness`); unstranded data keep the
  read's own alignment strand, so unstranded coverage is split over the two strand tracks, not summed;
- `shift` (ATAC-seq, unstranded only): the whole read span moved to the Tn5 cut site, +4 on plus reads,
  -5 at the end of minus reads; no spliced coverage.

Coverage is computed for a window of one contig at a time, so memory stays bounded on long chromosomes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helixtune.errors import HelixtuneError, InputFileError

# rows of the array `count_window` returns
COVERAGE_PLUS, COVERAGE_MINUS, SPLICED_PLUS, SPLICED_MINUS = range(4)

_SKIP_FLAGS = 0x4 | 0x100 | 0x200  # unmapped, secondary, QC fail
_COVERAGE_OPS = (0, 7, 8)  # M, =, X
_SPLICED_OPS = (2, 3)  # D, N


class Strandedness(str, enum.Enum):
    """How a read's alignment strand relates to the strand of its mRNA (upstream's three flags)."""

    SECOND_READ_IS_SENSE = "second_read_is_sense_strand"  # dUTP / Illumina stranded (RF): read 1 antisense
    FIRST_READ_IS_SENSE = "first_read_is_sense_strand"  # FR protocols: read 1 (and single-end reads) sense
    UNSTRANDED = "unstranded"  # the read's own strand, arbitrary with respect to the gene

    def flips(self, flag: int) -> bool:
        """True when the read's alignment strand is the opposite of its mRNA's strand."""
        if self is Strandedness.UNSTRANDED:
            return False
        # single-end reads count as read 1 (upstream: "not paired end" is flipped like read 1)
        is_second = bool(flag & 0x1) and bool(flag & 0x80)
        if self is Strandedness.SECOND_READ_IS_SENSE:
            return not is_second
        return is_second


@dataclass
class WindowCounts:
    """Coverage of one window: `tracks` is (4, end - start) int32 in the order COVERAGE_PLUS ... SPLICED_MINUS."""

    tracks: np.ndarray
    reads: int
    skipped: int


def open_bam(path):
    """Open a BAM for random access, with one-line errors for the usual problems."""
    import pysam

    path = Path(path)
    if not path.exists():
        raise InputFileError(path, "no such file")
    try:
        bam = pysam.AlignmentFile(str(path), "rb")
    except (ValueError, OSError) as err:
        raise InputFileError(path, f"not a readable BAM file ({str(err).splitlines()[0]})") from None
    header = bam.header.to_dict()
    sort_order = header.get("HD", {}).get("SO")
    if sort_order is not None and sort_order != "coordinate":
        bam.close()
        raise InputFileError(path, f"not sorted by coordinate (header says SO:{sort_order}); "
                                   "sort it with `samtools sort` and index it with `samtools index`")
    if not bam.has_index():
        bam.close()
        raise InputFileError(path, "has no index (.bai or .csi beside it); index it with `samtools index`"
                                   " (it must be sorted by coordinate first)")
    try:
        _check_index_belongs(bam, path)
    except BaseException:
        bam.close()
        raise
    return bam


def _check_index_belongs(bam, path) -> None:
    """The index must find the BAM's first alignment where it is: an index made for another BAM does not."""
    try:
        first = next((read for read in bam.fetch(until_eof=True) if not read.is_unmapped), None)
        if first is None:
            return
        found = any(read.query_name == first.query_name and read.reference_start == first.reference_start
                    for read in bam.fetch(first.reference_name, first.reference_start, first.reference_start + 1))
    except (ValueError, OSError) as err:
        raise InputFileError(path, f"cannot be read through its index ({str(err).splitlines()[0]}); re-index it "
                                   "with `samtools index`") from None
    finally:
        bam.reset()
    if not found:
        raise InputFileError(path, "its index does not match it (an index of another BAM, or made before the BAM "
                                   "was rewritten); re-index it with `samtools index`")


def check_contigs(bam, bam_path, needed: dict[str, int]) -> None:
    """Every sequence of the h5 file must be a contig of the BAM, at least as long as the h5 says."""
    lengths = dict(zip(bam.references, bam.lengths))
    for seqid, length in needed.items():
        if seqid not in lengths:
            shown = ", ".join(list(lengths)[:5]) + (", ..." if len(lengths) > 5 else "")
            raise InputFileError(bam_path, f"has no contig '{seqid}', a sequence of the h5 file "
                                           f"(the BAM's contigs: {shown}); was it aligned to another assembly?")
        if lengths[seqid] < length:
            raise InputFileError(bam_path, f"contig '{seqid}' is {lengths[seqid]} bp long but the h5 file has "
                                           f"subsequences up to {length} bp; was it aligned to another assembly?")


def count_window(bam, bam_path, contig: str, start: int, end: int, strandedness: Strandedness,
                 shift: bool = False, contig_length: int | None = None) -> WindowCounts:
    """Coverage and spliced coverage per strand over [start, end) of `contig`.

    Reads overlapping the window are fetched through the index; their operations are clipped to it, so
    adjacent windows add up to exactly the whole-contig coverage.
    """
    if shift and strandedness is not Strandedness.UNSTRANDED:
        raise HelixtuneError("--shift is only defined for unstranded data (ATAC-seq)")
    width = end - start
    # interval ends per track; filled in the read loop and turned into coverage by a cumulative sum
    starts = ([], [], [], [])
    ends = ([], [], [], [])
    n_reads = n_skipped = 0
    previous_position = -1
    for read in bam.fetch(contig, start, end):
        flag = read.flag
        position = read.reference_start
        if position < previous_position:
            raise InputFileError(bam_path, f"not sorted by coordinate (record '{read.query_name}' at "
                                           f"{contig}:{position + 1} comes after position {previous_position + 1})")
        previous_position = position
        if flag & _SKIP_FLAGS or read.cigartuples is None:
            n_skipped += 1
            continue
        n_reads += 1
        minus = bool(flag & 0x10) != strandedness.flips(flag)
        if shift:
            read_end = read.reference_end
            if flag & 0x10:
                a, b = position, read_end - 5
            else:
                a, b = position + 4, read_end
            starts[COVERAGE_MINUS if minus else COVERAGE_PLUS].append(max(a, 0))
            ends[COVERAGE_MINUS if minus else COVERAGE_PLUS].append(b if contig_length is None
                                                                    else min(b, contig_length))
            continue
        coverage_track = COVERAGE_MINUS if minus else COVERAGE_PLUS
        spliced_track = SPLICED_MINUS if minus else SPLICED_PLUS
        for op, length in read.cigartuples:
            if op in _COVERAGE_OPS:
                starts[coverage_track].append(position)
                ends[coverage_track].append(position + length)
                position += length
            elif op in _SPLICED_OPS:
                starts[spliced_track].append(position)
                ends[spliced_track].append(position + length)
                position += length
            # I, S, H, P consume no reference
    tracks = np.zeros((4, width), dtype=np.int32)
    for track in range(4):
        if not starts[track]:
            continue
        a = np.clip(np.asarray(starts[track], dtype=np.int64) - start, 0, width)
        b = np.clip(np.asarray(ends[track], dtype=np.int64) - start, 0, width)
        keep = a < b
        steps = np.bincount(a[keep], minlength=width + 1) - np.bincount(b[keep], minlength=width + 1)
        tracks[track] = np.cumsum(steps[:width])
    return WindowCounts(tracks=tracks, reads=n_reads, skipped=n_skipped)


# ---- worker-process entry point (one BAM handle per process and path) ----------------------------
_OPEN_BAMS: dict[str, object] = {}


def count_window_in_worker(task: tuple) -> WindowCounts:
    bam_path, contig, start, end, strandedness, shift, contig_length = task
    bam = _OPEN_BAMS.get(bam_path)
    if bam is None:
        bam = _OPEN_BAMS[bam_path] = open_bam(bam_path)
    return count_window(bam, bam_path, contig, start, end, Strandedness(strandedness), shift, contig_length)
