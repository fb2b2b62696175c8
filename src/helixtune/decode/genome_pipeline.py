"""The genome decoder's pipeline: candidate regions (widened, merged, capped), hints, decoding, GFF3.

1. Scan: the genic probability of every strand is read block by block (only that column) and scanned with
   HelixerPost's sliding window and the parameter file's thresholds.
2. Regions: each accepted region is widened by `region_margin` on both sides (so a gene's start and stop
   codons fit inside), overlapping ones are merged, and one longer than `max_region_length` is cut at
   the least genic window near each multiple of that length (so decoding time and memory per region stay
   bounded whatever the predictions look like).
3. Decode: each region's bases and predictions are read, its RNA-seq junctions attached, and it is
   solved on a thread pool by `helixtune.decode.genome`; a region's path must end intergenic unless it
   reaches the strand's end or a cut.
4. UTRs: each gene's outer UTRs are trimmed to what the network supports (`helixtune.decode.utr`; the
   baseline of the network's UTR:intergenic odds is gathered during the scan); the CDS stays as decoded.
5. Write: genes are numbered and written as the helixerpost decoder writes them.

Adapting to the genome (`adapt`, by default when the bundled lineage parameters are used): steps 1-5 run
once with the lineage's statistics, the statistics are refitted on that first pass's genes
(`helixtune.decode.params.adapt_params`), and steps 1-5 run again with them.
"""

from __future__ import annotations

import collections
import dataclasses
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from helixtune import h5layout
from helixtune.atomic import atomic_output, check_output_file, scratch_folder
from helixtune.decode import gff3, windows
from helixtune.decode.genome import solve_genome_region
from helixtune.decode.options import resolve_adapt
from helixtune.decode.params import DecodeParams, adapt_params
from helixtune.decode.streams import Sequence, check_thresholds, genome_sequences, open_inputs, read_block
from helixtune.decode.utr import UtrBaseline, trim_unsupported_utrs
from helixtune.errors import HelixtuneError
from helixtune.parallel import available_cpus
from helixtune.progress import progress_bar


def _scan_strand(inputs, seq: Sequence, reverse: bool, window: int, edge: int, peak: int,
                 baseline: UtrBaseline | None = None) -> list:
    rows = seq.reverse_rows if reverse else seq.forward_rows
    state = windows.new_scanner_state()
    carry = np.zeros(0, np.int64)
    carry_base = 0
    regions = []
    dataset = inputs.predictions[h5layout.PREDICTIONS.path]
    for i, row in enumerate(rows):
        length = seq.block_lengths[row]
        classes = dataset[row, :length].astype(np.float32)
        if not np.isfinite(classes).all() or (classes < 0).any():
            read_block(inputs, row, length)  # raises the one-line error
        if baseline is not None:
            baseline.add(classes)
        scores = np.concatenate([carry, windows.base_scores(classes)])
        found = np.empty((len(scores) + 1, 2), np.int64)
        count = windows.scan(scores, carry_base, i == len(rows) - 1, window, edge, peak, state, found)
        regions.extend(found[:count].tolist())
        keep = int(state[windows.P])
        carry = scores[keep - carry_base:]
        carry_base = keep
    return regions


def widen_and_merge(regions: list, margin: int, length: int) -> list:
    """[start, end) regions widened by `margin` (within [0, length)) and merged where they overlap or touch."""
    merged: list = []
    for start, end in regions:
        start, end = max(0, start - margin), min(length, end + margin)
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [tuple(r) for r in merged]


def cut_points(genic: np.ndarray, max_length: int, window: int) -> list:
    """Where to cut a long region: the least genic window within the last third before each max_length."""
    n = len(genic)
    cuts = []
    start = 0
    csum = np.concatenate([[0.0], np.cumsum(genic, dtype=np.float64)])
    while n - start > max_length:
        lo, hi = start + (2 * max_length) // 3, start + max_length - window
        totals = csum[lo + window:hi + window] - csum[lo:hi]
        cut = lo + int(np.argmin(totals)) + window // 2
        cuts.append(cut)
        start = cut
    return cuts


class _Reader:
    """Region arrays of one strand from its blocks, keeping the last block read (regions come in order)."""

    def __init__(self, inputs, seq: Sequence, reverse: bool):
        self.inputs = inputs
        self.rows = seq.reverse_rows if reverse else seq.forward_rows
        self.starts = []
        position = 0
        for row in self.rows:
            self.starts.append(position)
            position += seq.block_lengths[row]
        self.lengths = [seq.block_lengths[r] for r in self.rows]
        self.cache: dict = {}

    def read(self, start: int, end: int):
        parts = []
        first = int(np.searchsorted(self.starts, start, side="right")) - 1
        for i in range(max(first, 0), len(self.rows)):
            s = self.starts[i]
            if s >= end:
                break
            if i not in self.cache:
                self.cache = {k: v for k, v in self.cache.items() if k >= i - 1}
                self.cache[i] = read_block(self.inputs, self.rows[i], self.lengths[i])
            block = self.cache[i]
            lo, hi = max(0, start - s), min(self.lengths[i], end - s)
            parts.append([arr[lo:hi] for arr in block])
        return tuple(np.concatenate([p[k] for p in parts]) for k in range(3))


def decode_genome(genome_h5, predictions_h5, out_gff3, window_size=None, edge_threshold=None, peak_threshold=None,
                  min_coding_length=None, species=None, threads=None, show_progress=True, params=None,
                  hints_bam=(), strandedness="unstranded", trim_utrs=True, adapt=None, adapted_params_out=None,
                  allow_noncanonical=False):
    """Decode with the genome decoder (see the module docstring); `trim_utrs=False` keeps the UTRs exactly as
    the dynamic programme chose them (for comparison).

    `adapt`: refit the statistics on a first pass over this genome and decode again with them; None (auto)
    adapts when `params` is None (the bundled lineage parameters), not when a parameter file is given.
    `adapted_params_out`: where to save the adapted parameters (to decode other predictions of the same
    genome with them: `params=` that file, `adapt=False`). `allow_noncanonical`: also AT-AC introns, on top of
    whichever parameters decode (the adapted ones keep it).
    """
    adapt = resolve_adapt(adapt, params)
    if not isinstance(params, DecodeParams):
        params = DecodeParams.load(params)
    if allow_noncanonical:
        params = dataclasses.replace(params, allow_noncanonical=True)
    once = dict(window_size=window_size, edge_threshold=edge_threshold, peak_threshold=peak_threshold,
                min_coding_length=min_coding_length, species=species, threads=threads, show_progress=show_progress,
                hints_bam=hints_bam, strandedness=strandedness, trim_utrs=trim_utrs)
    if not adapt:
        return _decode_genome_once(genome_h5, predictions_h5, out_gff3, params=params, **once)
    # the first pass goes beside the output (same file system: kept as the output by a rename when nothing
    # can be refitted, so a small genome is not decoded twice for nothing)
    out_gff3 = check_output_file(out_gff3)
    with scratch_folder(out_gff3.with_name(out_gff3.name + ".first_pass")) as tmp:  # not annotate's own
        first_pass = tmp / "first_pass.gff3"
        summary = _decode_genome_once(genome_h5, predictions_h5, first_pass, params=params,
                                      label="decode (genome, first pass)", **once)
        adapted, why = adapt_params(params, first_pass, genome_sequences(genome_h5, predictions_h5))
        if adapted is None:
            first_pass.replace(out_gff3)
            summary.adapted = f"not adapted: {why}"
            return summary
    if adapted_params_out is not None:
        adapted.save(adapted_params_out)
    summary = _decode_genome_once(genome_h5, predictions_h5, out_gff3, params=adapted,
                                  label="decode (genome, adapted)", **once)
    summary.adapted = why
    return summary


def _decode_genome_once(genome_h5, predictions_h5, out_gff3, window_size, edge_threshold, peak_threshold,
                        min_coding_length, species, threads, show_progress, params: DecodeParams, hints_bam,
                        strandedness, trim_utrs, label: str = "decode (genome)"):
    from helixtune.decode.hints import check_strandedness, count_junctions, region_hints, stream_hints
    from helixtune.decode.pipeline import DecodeSummary, _Inline

    window_size = params.window_size if window_size is None else window_size
    edge_threshold = params.edge_threshold if edge_threshold is None else edge_threshold
    peak_threshold = params.peak_threshold if peak_threshold is None else peak_threshold
    min_coding_length = params.min_coding_length if min_coding_length is None else min_coding_length
    check_thresholds(window_size, edge_threshold, peak_threshold, min_coding_length)
    threads = available_cpus() if threads is None else int(threads)
    if threads < 1:
        raise HelixtuneError(f"threads must be at least 1, got {threads}")
    window_size, min_coding_length = int(window_size), int(min_coding_length)
    edge = windows.threshold_int(edge_threshold, window_size)
    peak = windows.threshold_int(peak_threshold, window_size)
    compiled = params.compiled()
    summary = DecodeSummary(decoder="genome")
    inputs = open_inputs(genome_h5, predictions_h5)
    name = species if species is not None else inputs.species
    try:
        junctions = {}
        if hints_bam:
            junctions = count_junctions(hints_bam, check_strandedness(strandedness),
                                        {seq.seqid: seq.length for seq in inputs.sequences})
        # 1-2: candidate regions of every strand
        plan = []  # per sequence: [(reverse, [(start, end)])] for both strands
        utr_baseline = UtrBaseline()
        for seq in inputs.sequences:
            plan.append([(reverse, widen_and_merge(_scan_strand(inputs, seq, reverse, window_size, edge, peak,
                                                                utr_baseline),
                                                   params.region_margin, seq.length)) for reverse in (False, True)])
        baseline = utr_baseline.value()
        summary.utr_baseline_bits = round(baseline, 3)
        n_regions = sum(len(regions) for strands in plan for _, regions in strands)
        # compile (or load the cached compilation) once, before the workers start
        solve_genome_region(np.zeros((1, 4), np.float32), np.zeros((1, 4), np.float32),
                            np.zeros((1, 4), np.float32), compiled)
        executor = ThreadPoolExecutor(threads) if threads > 1 else _Inline()
        bar = progress_bar(total=n_regions, desc=label, unit="region") if show_progress else None

        def solve(bases, classes, phases, hints, end_ig):
            runs = solve_genome_region(bases, classes, phases, compiled, hints, end_ig)
            if not trim_utrs:
                return runs, 0
            return trim_unsupported_utrs(runs, classes, baseline)

        try:
            with atomic_output(out_gff3) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as out:
                out.write(gff3.file_header(name, inputs.model_md5sum))
                pending: collections.deque = collections.deque()
                for seq, strands in zip(inputs.sequences, plan):
                    jobs = []
                    for reverse, regions in strands:
                        hints_all = stream_hints(junctions.get((seq.seqid, "-" if reverse else "+"), {}), reverse,
                                                 seq.length)
                        summary.hinted_junctions += len(hints_all[0])
                        reader = _Reader(inputs, seq, reverse)
                        for start, end in regions:
                            bases, classes, phases = reader.read(start, end)
                            cuts = []
                            if end - start > params.max_region_length:
                                cuts = cut_points(1.0 - classes[:, 0], params.max_region_length, window_size)
                                summary.split_regions += 1
                            bounds = [0] + cuts + [end - start]
                            for k in range(len(bounds) - 1):
                                lo, hi = bounds[k], bounds[k + 1]
                                end_ig = k == len(bounds) - 2 and end < seq.length
                                hints = region_hints(hints_all, start + lo, start + hi, params.hint_weight)
                                future = executor.submit(solve, bases[lo:hi], classes[lo:hi], phases[lo:hi], hints,
                                                         end_ig)
                                jobs.append((reverse, start + lo, future))
                                pending.append(future)
                                summary.regions += 1
                                summary.region_bases += hi - lo
                                while len(pending) > 4 * threads:
                                    pending.popleft().result()
                            if bar is not None:
                                bar.update(1)
                    text = [gff3.sequence_header(seq.seqid, seq.length)]
                    gene_index = 1
                    for reverse, start, future in jobs:
                        runs, trimmed = future.result()
                        summary.trimmed_utr_bases += trimmed
                        genes, count = gff3.region_genes_text(runs, start, reverse, seq.seqid,
                                                              seq.length, name, gene_index, min_coding_length)
                        text.extend(genes)
                        gene_index += count
                        summary.genes += count
                    out.write("".join(text))
                    summary.sequences += 1
        finally:
            executor.shutdown(wait=True)
            if bar is not None:
                bar.close()
    finally:
        inputs.close()
    return summary
