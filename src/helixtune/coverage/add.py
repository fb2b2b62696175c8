"""Add RNA-seq (or CAGE/ATAC) coverage tracks from BAM files to an existing data h5 (`helixtune add-coverage`).

Writes upstream's datasets `evaluation/<prefix>_coverage` and `evaluation/<prefix>_spliced_coverage`
(int64, (N, L, n_bams), -1 in padding and in rows of other species) and
`evaluation/<prefix>_meta/bam_files` (S512, the BAM paths in track order). Each row gets the coverage of
its chunk's strand: plus chunks the plus track over [start, end), minus chunks the minus track over
[end, start) reversed (no complement), padding at the end of the array with -1, exactly like `data/X`.
Rows are located through `data/seqids` and `data/start_ends`, so any row order works (fasta2h5's,
geenuff2h5's, or a filtered file's).

When the datasets already exist, the new BAMs are appended as further tracks (upstream's behaviour), but
only for the same library protocol (strandedness) and never a BAM twice.

The file is changed atomically: the work is done on a copy beside it, which replaces the original only
when complete, so a failure or Ctrl-C leaves the input file as it was.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from helixtune import h5layout
from helixtune.atomic import atomic_output
from helixtune.coverage.bam import (COVERAGE_MINUS, COVERAGE_PLUS, SPLICED_MINUS, SPLICED_PLUS, Strandedness,
                                    check_contigs, count_window, count_window_in_worker, open_bam)
from helixtune.errors import HelixtuneError, InputFileError
from helixtune.progress import progress_bar

DEFAULT_WINDOW_BP = 1_000_000  # bases counted at once per BAM (memory: 16 bytes per base per BAM)


@dataclass
class CoverageSummary:
    h5_path: str
    prefix: str
    bam_files: list[str]
    strandedness: str
    rows_written: int = 0
    reads_per_bam: list[int] = field(default_factory=list)
    skipped_per_bam: list[int] = field(default_factory=list)
    first_track: int = 0
    n_tracks_total: int = 0


@dataclass
class _RowPlan:
    """Where the rows of one window go: (row index, lo, hi, minus) with [lo, hi) in plus coordinates."""

    seqid: str
    start: int
    end: int
    rows: list[tuple[int, int, int, bool]]


def _plan_windows(seqids: list[str], start_ends: np.ndarray, row_indices: np.ndarray, subsequence_length: int,
                  path, window_bp: int) -> list[_RowPlan]:
    by_seqid: dict[str, list[tuple[int, int, int, bool]]] = defaultdict(list)
    for row in row_indices:
        start, end = (int(v) for v in start_ends[row])
        minus = start > end
        lo, hi = (end, start) if minus else (start, end)
        if lo < 0 or hi - lo > subsequence_length or hi == lo:
            raise InputFileError(path, f"data/start_ends row {row} is [{start}, {end}], not a chunk of at most "
                                       f"{subsequence_length} bases")
        by_seqid[seqids[row]].append((int(row), lo, hi, minus))
    plans = []
    for seqid, rows in by_seqid.items():
        rows.sort(key=lambda r: (r[1], r[2]))
        current: list = []
        for row in rows:
            if current and row[2] - current[0][1] > window_bp:
                plans.append(_RowPlan(seqid, current[0][1], max(r[2] for r in current), current))
                current = []
            current.append(row)
        plans.append(_RowPlan(seqid, current[0][1], max(r[2] for r in current), current))
    return plans


def _species_rows(h5, path, species: str | None) -> np.ndarray:
    n_rows = h5[h5layout.SEQIDS.path].shape[0]
    if h5layout.SPECIES.path not in h5:
        if species is not None:
            raise InputFileError(path, f"has no data/species, so --species {species} cannot be selected")
        return np.arange(n_rows)
    names = np.asarray(h5[h5layout.SPECIES.path][:])
    present = sorted(set(h5layout.decode_strings(np.unique(names))))
    if species is None:
        if len(present) > 1:
            raise HelixtuneError(f"{path} holds several species ({', '.join(present)}); choose one with --species")
        return np.arange(n_rows)
    rows = np.flatnonzero(names == species.encode()[:25])
    if len(rows) == 0:
        raise InputFileError(path, f"has no rows of species '{species}' (species present: {', '.join(present)})")
    return rows


def _existing_tracks(h5, prefix: str, path, strandedness: Strandedness, bam_keys: list[str]) -> int:
    """Number of tracks already present under `prefix` (0 if none), after checking we may append to them."""
    coverage = h5layout.coverage_spec(prefix).path
    spliced = h5layout.spliced_coverage_spec(prefix).path
    bam_files = h5layout.bam_files_spec(prefix).path
    present = [name for name in (coverage, spliced, bam_files) if name in h5]
    if not present:
        return 0
    if len(present) < 3:
        raise InputFileError(path, f"has only part of the '{prefix}' coverage datasets ({', '.join(present)}); "
                                   "remove them or choose another --dataset-prefix")
    n_old = h5[coverage].shape[2]
    old_strandedness = h5[coverage].attrs.get("strandedness")
    if old_strandedness is not None and str(old_strandedness) != strandedness.value:
        raise InputFileError(path, f"already has '{prefix}' coverage from {old_strandedness} data; tracks of one "
                                   f"prefix must share one protocol (use another --dataset-prefix for "
                                   f"{strandedness.value} data)")
    old_names = set(h5layout.decode_strings(h5[bam_files][:]))
    for key in bam_keys:
        if key in old_names:
            raise InputFileError(path, f"already has a '{prefix}' coverage track from {key}")
    return n_old


def add_coverage(h5_path, bam_paths, strandedness: Strandedness | str, prefix: str = "rnaseq",
                 threads: int = 1, species: str | None = None, shift: bool = False,
                 window_bp: int = DEFAULT_WINDOW_BP) -> CoverageSummary:
    """Add one coverage and one spliced-coverage track per BAM to `h5_path` (atomically; see module doc)."""
    strandedness = Strandedness(strandedness)
    if shift and strandedness is not Strandedness.UNSTRANDED:
        raise HelixtuneError("--shift is only defined for unstranded data (ATAC-seq)")
    if not bam_paths:
        raise HelixtuneError("give at least one BAM file")
    if not prefix or "/" in prefix:
        raise HelixtuneError(f"--dataset-prefix '{prefix}' must be a non-empty name without '/'")
    bam_keys = [str(p) for p in bam_paths]  # stored as given, like upstream
    if len(set(os.path.realpath(p) for p in bam_paths)) != len(bam_paths):
        raise HelixtuneError("the same BAM file is given twice")
    h5_path = Path(h5_path)

    # ---- check everything before touching anything ---------------------------------------------
    with h5layout.open_h5(h5_path, "r") as h5:
        h5layout.require_datasets(h5, [h5layout.SEQIDS, h5layout.START_ENDS], h5_path)
        subsequence_length = h5layout.subsequence_length(h5)
        seqids = h5layout.decode_strings(h5[h5layout.SEQIDS.path][:])
        start_ends = np.asarray(h5[h5layout.START_ENDS.path][:])
        n_rows = len(seqids)
        if start_ends.shape != (n_rows, 2):
            raise InputFileError(h5_path, f"data/start_ends has shape {start_ends.shape}, expected ({n_rows}, 2)")
        rows = _species_rows(h5, h5_path, species)
        n_old = _existing_tracks(h5, prefix, h5_path, strandedness, bam_keys)
    if n_rows == 0:
        raise InputFileError(h5_path, "has no subsequences")
    plans = _plan_windows(seqids, start_ends, rows, subsequence_length, h5_path, window_bp)
    needed = {}
    for plan in plans:
        needed[plan.seqid] = max(needed.get(plan.seqid, 0), plan.end)
    contig_lengths = []
    for bam_path in bam_paths:
        bam = open_bam(bam_path)
        try:
            check_contigs(bam, bam_path, needed)
            contig_lengths.append(dict(zip(bam.references, bam.lengths)))
        finally:
            bam.close()

    summary = CoverageSummary(str(h5_path), prefix, bam_keys, strandedness.value,
                              reads_per_bam=[0] * len(bam_paths), skipped_per_bam=[0] * len(bam_paths),
                              first_track=n_old, n_tracks_total=n_old + len(bam_paths))
    n_bams = len(bam_paths)
    with atomic_output(h5_path) as tmp:
        shutil.copyfile(h5_path, tmp)
        with h5layout.open_h5(tmp, "r+") as h5:
            datasets = _prepare_datasets(h5, prefix, n_rows, subsequence_length, n_old, n_bams, bam_keys)
            tasks = [(str(bam_paths[b]), plan.seqid, plan.start, plan.end, strandedness.value, shift,
                      contig_lengths[b][plan.seqid]) for plan in plans for b in range(n_bams)]
            with progress_bar(total=sum(p.end - p.start for p in plans) * n_bams, desc="coverage",
                              unit="bp") as bar:
                results = _count_all(tasks, threads)
                for plan in plans:
                    per_bam = []
                    for b in range(n_bams):
                        counts = next(results)
                        summary.reads_per_bam[b] += counts.reads
                        summary.skipped_per_bam[b] += counts.skipped
                        per_bam.append(counts.tracks)
                        bar.update(plan.end - plan.start)
                    _write_rows(datasets, plan, np.stack(per_bam, axis=-1), subsequence_length, n_old)
                    summary.rows_written += len(plan.rows)
            _record_provenance(h5, datasets, prefix, bam_paths, bam_keys, strandedness, shift, summary)
    return summary


def _count_all(tasks, threads: int):
    """Yield the WindowCounts of `tasks` in order, in worker processes when threads > 1."""
    if threads <= 1 or len(tasks) <= 1:
        handles = {}
        try:
            for task in tasks:
                bam_path = task[0]
                if bam_path not in handles:
                    handles[bam_path] = open_bam(bam_path)
                yield count_window(handles[bam_path], bam_path, task[1], task[2], task[3],
                                   Strandedness(task[4]), task[5], task[6])
        finally:
            for handle in handles.values():
                handle.close()
        return
    with ProcessPoolExecutor(max_workers=threads, initializer=_ignore_interrupts) as pool:
        # a bounded look-ahead keeps at most 2 * threads windows in memory
        pending = []
        queue = iter(tasks)
        for task in queue:
            pending.append(pool.submit(count_window_in_worker, task))
            if len(pending) >= 2 * threads:
                yield pending.pop(0).result()
        for future in pending:
            yield future.result()


def _ignore_interrupts() -> None:
    """Worker processes leave Ctrl-C to the main process, which stops them and removes its temporary file."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _prepare_datasets(h5, prefix, n_rows, subsequence_length, n_old, n_bams, bam_keys):
    specs = (h5layout.coverage_spec(prefix), h5layout.spliced_coverage_spec(prefix))
    bam_spec = h5layout.bam_files_spec(prefix)
    if n_old == 0:
        datasets = [h5layout.create_dataset(h5, spec, n_rows, subsequence_length, compression="lzf",
                                            n_tracks=n_bams, chunks=(1, subsequence_length, 1)) for spec in specs]
        names = h5layout.create_dataset(h5, bam_spec, n_bams)
    else:
        datasets = [h5[spec.path] for spec in specs]
        for dataset in datasets:
            if dataset.shape[:2] != (n_rows, subsequence_length):
                raise InputFileError(h5.filename, f"{dataset.name} has shape {dataset.shape}, which does not fit "
                                                  f"{n_rows} subsequences of {subsequence_length} bp")
            dataset.resize(n_old + n_bams, axis=2)
        names = h5[bam_spec.path]
        names.resize((n_old + n_bams,))
    names[n_old:] = np.array([key.encode() for key in bam_keys], dtype=h5layout.BAM_PATH_DTYPE)
    return datasets


def _write_rows(datasets, plan: _RowPlan, tracks: np.ndarray, subsequence_length: int, first_track: int) -> None:
    """tracks: (4, window, n_bams); writes every row of the window, padding -1 at the end of each row."""
    coverage, spliced = datasets
    n_bams = tracks.shape[-1]
    block = np.empty((subsequence_length, n_bams), dtype=np.int64)
    for row, lo, hi, minus in plan.rows:
        a, b = lo - plan.start, hi - plan.start
        for dataset, plus_track, minus_track in ((coverage, COVERAGE_PLUS, COVERAGE_MINUS),
                                                 (spliced, SPLICED_PLUS, SPLICED_MINUS)):
            piece = tracks[minus_track, a:b][::-1] if minus else tracks[plus_track, a:b]
            block.fill(-1)
            block[: b - a] = piece
            dataset[row, :, first_track:first_track + n_bams] = block


def _record_provenance(h5, datasets, prefix, bam_paths, bam_keys, strandedness, shift, summary):
    """Attributes a model trained on these tracks records and checks at inference (names, order, protocol)."""
    from helixtune import __version__

    all_names = h5layout.decode_strings(h5[h5layout.bam_files_spec(prefix).path][:])
    meta = h5[f"evaluation/{prefix}_meta"]
    for target in (*datasets, meta):
        target.attrs["strandedness"] = strandedness.value
        target.attrs["bam_files"] = json.dumps(all_names)
        target.attrs["shift"] = bool(shift)
    def extend(name, values):
        earlier = json.loads(meta.attrs.get(name, "[]")) if summary.first_track else []
        meta.attrs[name] = json.dumps(earlier + list(values))

    extend("bam_files_absolute", [str(Path(p).resolve()) for p in bam_paths])
    extend("reads_counted", summary.reads_per_bam)
    meta.attrs["timestamp"] = str(datetime.datetime.now())
    meta.attrs["helixtune_version"] = __version__
