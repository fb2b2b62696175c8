"""`decode_to_gff3`: genome h5 + predictions h5 -> GFF3, regions decoded in parallel.

Two decoders. `helixerpost` (default) is HelixerPost's algorithm, byte-identical output. `genome` uses the
same gene grammar with sequence-aware costs and lineage parameters (`helixtune.decode.genome`,
`helixtune.decode.params`), optionally RNA-seq intron hints (`helixtune.decode.hints`).

Memory stays bounded: sequences are read block by block; a block is dropped as soon as no open candidate
region needs it, and only a limited number of regions wait for a worker at any time. Regions are solved on
a thread pool (the compiled search releases the GIL); genes are numbered and written in upstream's order.
The genome decoder first scans the genic probabilities of every strand for candidate regions (widened by a
margin, merged where they meet, and cut at the least genic point where longer than a maximum length, so
the time per region is bounded), then reads and decodes each region, with a progress bar by region.
"""

from __future__ import annotations

import collections
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from helixtune.atomic import atomic_output
from helixtune.decode import gff3, windows
from helixtune.decode.costs import COST_MODELS
from helixtune.decode.hmm import SOLVED_BY_REPLAY, SOLVED_BY_TIE_CHECK, solve_region
from helixtune.decode.options import DecodeOptions
from helixtune.decode.streams import DecodeInputs, Sequence, check_thresholds, open_inputs, read_block
from helixtune.errors import HelixtuneError
from helixtune.parallel import available_cpus
from helixtune.progress import progress_bar


DECODERS = ("helixerpost", "genome")


@dataclass
class DecodeSummary:
    sequences: int = 0
    regions: int = 0
    region_bases: int = 0
    genes: int = 0
    tie_checked_regions: int = 0  # regions with exact cost ties that could not change the labels
    replayed_regions: int = 0  # regions whose exact cost ties needed upstream's search order replayed
    decoder: str = "helixerpost"
    split_regions: int = 0  # genome decoder: regions cut because they exceeded the maximum region length
    hinted_junctions: int = 0  # genome decoder: RNA-seq junctions offered as intron hints
    utr_baseline_bits: float = 0.0  # genome decoder: the network's typical UTR:intergenic log-odds (>= 0)
    trimmed_utr_bases: int = 0  # genome decoder: UTR bases the network did not support, made intergenic
    adapted: str = ""  # genome decoder: whether (and on what) the statistics were refitted to this genome
    model_statistics: bool = False  # genome decoder: it used the statistics the model carries (from predict)


class _Inline:
    """Executor stand-in for threads=1: run at submission, no pool."""

    def submit(self, fn, *args):
        future = Future()
        future.set_result(fn(*args))
        return future

    def shutdown(self, wait=True):
        pass


def _strand_regions(inputs: DecodeInputs, seq: Sequence, reverse: bool, window: int, edge: int, peak: int,
                    bar):
    """Yield (start, end, bases, classes, phases) for every accepted region of one strand, in stream order."""
    rows = seq.reverse_rows if reverse else seq.forward_rows
    state = windows.new_scanner_state()
    blocks: collections.deque = collections.deque()  # (stream start, bases, classes, phases)
    carry = np.zeros(0, np.int64)
    carry_base = 0
    position = 0
    for i, row in enumerate(rows):
        length = seq.block_lengths[row]
        bases, classes, phases = read_block(inputs, row, length)
        blocks.append((position, bases, classes, phases))
        position += length
        scores = np.concatenate([carry, windows.base_scores(classes)])
        found = np.empty((len(scores) + 1, 2), np.int64)
        count = windows.scan(scores, carry_base, i == len(rows) - 1, window, edge, peak, state, found)
        for start, end in found[:count].tolist():
            parts = [(s, b, c, p) for s, b, c, p in blocks if s < end and s + len(b) > start]
            pieces = [[arr[max(0, start - s):min(len(b), end - s)] for arr in (b, c, p)] for s, b, c, p in parts]
            yield (start, end) + tuple(np.concatenate([piece[k] for piece in pieces]) for k in range(3))
        keep = int(state[windows.P])
        carry = scores[keep - carry_base:]
        carry_base = keep
        needed_from = min(keep, int(state[windows.RUN_START])) if state[windows.IN_RUN] else keep
        while blocks and blocks[0][0] + len(blocks[0][1]) <= needed_from:
            blocks.popleft()
        if bar is not None:
            bar.update(length)


def decode_to_gff3(genome_h5, predictions_h5, out_gff3, window_size: int | None = None,
                   edge_threshold: float | None = None, peak_threshold: float | None = None,
                   min_coding_length: int | None = None, species: str | None = None,
                   cost_model: str = "head", threads: int | None = None, show_progress: bool = True,
                   max_pending_regions: int | None = None, decoder: str = "helixerpost", params=None,
                   hints_bam=(), strandedness: str = "unstranded", adapt: bool | None = None,
                   adapted_params_out=None, allow_noncanonical: bool = False,
                   options: DecodeOptions | None = None) -> DecodeSummary:
    """Decode Helixer predictions into gene models (GFF3).

    genome_h5: fasta2h5/geenuff2h5 file (data/X, seqids, species, start_ends); predictions_h5: HybridModel
    output (predictions, predictions_phase) with the same rows. The thresholds are HelixerPost's positional
    arguments (None: 100, 0.1, 0.8, 60 for `helixerpost`, the parameter file's for `genome`). `species`
    replaces data/species in the header and gene IDs. `threads`: regions decoded in parallel (default: all
    usable cores).

    decoder "helixerpost" (default) writes GFF3 byte-identical to HelixerPost's; `cost_model`: "head"
    (current upstream, default), "corrected" (codon position 2 costed like the others) or "b674af9"
    (upstream before 2024-10-28). decoder "genome" checks splice sites and start codons against the sequence
    and uses lineage length statistics: `params` is a `DecodeParams`, a parameter file, or None for those the
    predictions carry from their model (train --decoder-statistics), else the bundled fungal ones;
    `hints_bam`: RNA-seq BAM files whose spliced reads support introns, read with `strandedness` (as
    add-coverage); `adapt`: refit the statistics on a first pass over this genome (None:
    only with the bundled parameters), `adapted_params_out`: save the refitted parameters there;
    `allow_noncanonical`: also decode AT-AC introns, whichever parameters are used.

    `options`: a `DecodeOptions` (decode/options.py) whose fields take the place of the keywords of the
    same names (the thresholds, decoder, params, hints_bam, strandedness).
    """
    if options is not None:
        return decode_to_gff3(genome_h5, predictions_h5, out_gff3, species=species, cost_model=cost_model,
                              threads=threads, show_progress=show_progress, max_pending_regions=max_pending_regions,
                              adapted_params_out=adapted_params_out, **options.keywords())
    if decoder not in DECODERS:
        raise HelixtuneError(f"unknown decoder '{decoder}' (choose from {', '.join(DECODERS)})")
    if decoder == "genome":
        from helixtune.decode.genome_pipeline import decode_genome
        from helixtune.decode.options import predictions_decode_params

        carried = predictions_decode_params(predictions_h5) if params is None else None
        if carried is not None:  # a model tuned on labels carries its species' statistics; predict passes them on
            params = carried
        summary = decode_genome(genome_h5, predictions_h5, out_gff3, window_size=window_size,
                             edge_threshold=edge_threshold, peak_threshold=peak_threshold,
                             min_coding_length=min_coding_length, species=species, threads=threads,
                             show_progress=show_progress, params=params, hints_bam=hints_bam,
                             strandedness=strandedness, adapt=adapt, adapted_params_out=adapted_params_out,
                             allow_noncanonical=allow_noncanonical)
        summary.model_statistics = carried is not None
        return summary
    if adapt:
        raise HelixtuneError("adapting to the genome (--adapt-to-genome) needs the genome decoder (--decoder genome)")
    if hints_bam:
        raise HelixtuneError("intron hints from RNA-seq (--hints-bam) need the genome decoder (--decoder genome)")
    if allow_noncanonical:
        raise HelixtuneError("AT-AC introns (--allow-noncanonical) need the genome decoder (--decoder genome)")
    window_size = 100 if window_size is None else window_size
    edge_threshold = 0.1 if edge_threshold is None else edge_threshold
    peak_threshold = 0.8 if peak_threshold is None else peak_threshold
    min_coding_length = 60 if min_coding_length is None else min_coding_length
    check_thresholds(window_size, edge_threshold, peak_threshold, min_coding_length)
    if cost_model not in COST_MODELS:
        raise HelixtuneError(f"unknown cost model '{cost_model}' (choose from {', '.join(COST_MODELS)})")
    model = COST_MODELS[cost_model]
    threads = available_cpus() if threads is None else int(threads)
    if threads < 1:
        raise HelixtuneError(f"threads must be at least 1, got {threads}")
    max_pending = max_pending_regions or 16 * threads
    window_size, min_coding_length = int(window_size), int(min_coding_length)
    edge = windows.threshold_int(edge_threshold, window_size)
    peak = windows.threshold_int(peak_threshold, window_size)
    summary = DecodeSummary()

    inputs = open_inputs(genome_h5, predictions_h5)
    name = species if species is not None else inputs.species
    executor = ThreadPoolExecutor(threads) if threads > 1 else _Inline()
    try:
        # compile (or load the cached compilation) once, before the workers start
        solve_region(np.zeros((1, 4), np.float32), np.zeros((1, 4), np.float32), np.zeros((1, 4), np.float32), model)
        total_bases = 2 * sum(seq.length for seq in inputs.sequences)
        with atomic_output(out_gff3) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as out:
            out.write(gff3.file_header(name, inputs.model_md5sum))
            bar = progress_bar(total=total_bases, desc="decode", unit="bp") if show_progress else None
            in_flight: collections.deque = collections.deque()
            written: collections.deque = collections.deque()  # per sequence: (seq, [(reverse, start, future)])

            def write_sequence(seq: Sequence, jobs) -> None:
                text = [gff3.sequence_header(seq.seqid, seq.length)]
                gene_index = 1
                for reverse, start, future in jobs:
                    runs, how = future.result()
                    summary.tie_checked_regions += int(how == SOLVED_BY_TIE_CHECK)
                    summary.replayed_regions += int(how == SOLVED_BY_REPLAY)
                    genes, count = gff3.region_genes_text(runs, start, reverse, seq.seqid, seq.length, name,
                                                          gene_index, min_coding_length)
                    text.extend(genes)
                    gene_index += count
                    summary.genes += count
                out.write("".join(text))

            for seq in inputs.sequences:
                jobs = []
                for reverse in (False, True):
                    for start, end, bases, classes, phases in _strand_regions(inputs, seq, reverse, window_size, edge,
                                                                              peak, bar):
                        while len(in_flight) >= max_pending:
                            in_flight.popleft().result()
                        future = executor.submit(solve_region, bases, classes, phases, model)
                        in_flight.append(future)
                        jobs.append((reverse, start, future))
                        summary.regions += 1
                        summary.region_bases += end - start
                written.append((seq, jobs))
                summary.sequences += 1
                # write finished sequences in order, keeping at most a couple waiting
                while written and (len(written) > 2 or all(f.done() for _, _, f in written[0][1])):
                    write_sequence(*written.popleft())
            while written:
                write_sequence(*written.popleft())
            if bar is not None:
                bar.close()
    finally:
        executor.shutdown(wait=True)
        inputs.close()
    return summary
