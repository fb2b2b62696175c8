"""`helixtune predict`: stream a genome/test h5 through a model and write a predictions h5 (docs/file-formats.md).

Memory stays bounded: rows are read, predicted and written one batch (or one overlap block) at a time, and
the next input is read in a background thread while the network runs.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import queue
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helixtune import h5layout
from helixtune.atomic import atomic_output
from helixtune.decode.options import MODEL_PARAMS_KEY
from helixtune.errors import HelixtuneError
from helixtune.progress import progress_bar
from helixtune.predict import overlap as ov
from helixtune.predict.engine import Engine
from helixtune.predict.inputs import PredictionInput

GENOME_LAYOUT = "genome"
HELIXER_036_LAYOUT = "helixer-0.3.6"
PADDED_MINUS_LAYOUTS = (GENOME_LAYOUT, HELIXER_036_LAYOUT)


@dataclass
class PredictOptions:
    batch_size: int = 32
    overlap: bool = False
    overlap_offset: int | None = None  # default L // 2
    overlap_core_length: int | None = None  # default int(L * 3 / 4)
    device: str = "cpu"
    threads: int | None = None
    mixed_precision: bool = False  # CUDA: float16 autocast
    precision: str = "auto"  # CPU: auto | float32 | bfloat16-conv | bfloat16 (see engine.Engine)
    compression: str = "gzip"
    # where the real bases of padded minus-strand chunks go: "genome" = as in the genome h5 (what HelixerPost
    # reads); "helixer-0.3.6" = padding first, as upstream 0.3.6 writes them
    padded_minus_layout: str = GENOME_LAYOUT
    block_chunks: int = 16  # overlap: kept chunks per block (memory only; results do not depend on it)


@dataclass
class PredictSummary:
    rows: int
    subsequence_length: int
    strand_bases: int
    seconds: float
    outputs: tuple


def _prefetch(generator, depth: int = 2):
    """Run `generator` in a background thread, `depth` items ahead (h5 reads overlap the network)."""
    items: queue.Queue = queue.Queue(maxsize=depth)
    sentinel = object()
    stop = threading.Event()

    def worker():
        try:
            for item in generator:
                if stop.is_set():
                    return
                items.put(item)
            items.put(sentinel)
        except BaseException as err:  # hand the error to the consumer
            items.put(err)

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is sentinel:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                items.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)


class _Writer:
    def __init__(self, h5, n_rows: int, length: int, n_outputs: int, compression, start_ends, layout: str):
        specs = h5layout.PREDICTION_DATASETS[:n_outputs]
        self.datasets = [h5layout.create_dataset(h5, spec, n_rows, length, compression=compression) for spec in specs]
        self.start_ends = start_ends
        self.layout = layout

    def write(self, first: int, outputs: list[np.ndarray]) -> None:
        last = first + len(outputs[0])
        for ds, values in zip(self.datasets, outputs):
            if self.layout == GENOME_LAYOUT:
                values = h5layout.rotate_minus_padding_last(values, self.start_ends[first:last])
            ds[first:last] = values.astype(np.float16)


class _BackgroundWriter:
    """Compress and write in a second thread, in order, so the network never waits for gzip."""

    def __init__(self, writer: _Writer, depth: int = 2):
        self.writer = writer
        self.items: queue.Queue = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._work, daemon=True)
        self.thread.start()

    def _work(self):
        while True:
            item = self.items.get()
            if item is None:
                return
            if self.error is None:
                try:
                    self.writer.write(*item)
                except BaseException as err:  # reported to the producer
                    self.error = err

    def write(self, first: int, outputs: list[np.ndarray]) -> None:
        if self.error is not None:
            raise self.error
        self.items.put((first, outputs))

    def close(self) -> None:
        self.items.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error


def _plain_batches(source: PredictionInput, batch_size: int):
    for first in range(0, source.n_rows, batch_size):
        last = min(first + batch_size, source.n_rows)
        yield first, source.read_rows(first, last)


def _overlap_blocks(source: PredictionInput, offset: int, core: int, block_chunks: int):
    seqids, species = source.seqids_species()
    length = source.length
    for range_first, range_end in ov.contiguous_ranges(seqids, species, source.start_ends):
        for block in ov.range_blocks(range_first, range_end - range_first, length, offset, core, block_chunks):
            rows = source.read_rows(range_first + block.context_first, range_first + block.context_last)
            yield block, rows.reshape(-1, rows.shape[-1])


def predict_file(model, test_data, output_path, options: PredictOptions | None = None, *,
                 model_path=None, model_config_attr: str = "", model_md5sum: str | None = None,
                 coverage_datasets: list[str] | None = None, decode_params: dict | None = None) -> PredictSummary:
    """Predict every row of `test_data` with `model`; write `output_path` atomically, in upstream's layout
    (docs/file-formats.md). `decode_params`: the genome-decoder parameters the model carries, passed on to
    `decode` in the file's attributes."""
    import time

    options = options or PredictOptions()
    if options.padded_minus_layout not in PADDED_MINUS_LAYOUTS:
        raise HelixtuneError(f"unknown padded minus-strand layout '{options.padded_minus_layout}' "
                             f"(use one of {', '.join(PADDED_MINUS_LAYOUTS)})")
    if options.batch_size < 1:
        raise HelixtuneError("--batch-size must be at least 1")
    source = PredictionInput(test_data, model.pool_size, coverage_datasets, model.coverage_tracks)
    started = time.perf_counter()
    stack = contextlib.ExitStack()
    try:
        length = source.length
        offset = core = None
        if options.overlap:
            try:
                offset, core = ov.overlap_parameters(length, options.overlap_offset, options.overlap_core_length)
            except ValueError as err:
                raise HelixtuneError(str(err)) from None
        engine = Engine(model, options.device, options.mixed_precision, options.threads, options.precision)
        stack.callback(engine.close)
        with atomic_output(output_path) as tmp, h5layout.open_h5(tmp, "w") as out:
            writer = _BackgroundWriter(_Writer(out, source.n_rows, length, engine.n_outputs, options.compression,
                                               source.start_ends, options.padded_minus_layout))
            try:
                with progress_bar(total=source.n_rows, desc="predict", unit="chunk") as bar:
                    if options.overlap:
                        _run_overlap(engine, source, writer, offset, core, options, bar)
                    else:
                        for first, rows in _prefetch(_plain_batches(source, options.batch_size)):
                            writer.write(first, engine(rows))
                            bar.update(len(rows))
            finally:
                writer.close()
            out.attrs["model_config"] = model_config_attr
            out.attrs["n_bases_removed"] = np.int64(0)  # L % pool size is 0: such files are refused
            out.attrs["test_data_path"] = str(test_data)
            out.attrs["model_path"] = str(model_path or "")
            out.attrs["timestamp"] = str(datetime.datetime.now())
            if model_md5sum:
                out.attrs["model_md5sum"] = str(model_md5sum)  # str, not bytes: HelixerPost reads a UTF-8 string
            out.attrs["padded_minus_layout"] = options.padded_minus_layout
            out.attrs["precision"] = ("float16-autocast" if options.mixed_precision and engine.device.type == "cuda"
                                      else engine.precision)
            out.attrs["overlap"] = (f"offset {offset}, core length {core}" if options.overlap else "none")
            if decode_params:
                out.attrs[MODEL_PARAMS_KEY] = json.dumps(decode_params)
            from helixtune import __version__
            out.attrs["helixtune_version"] = __version__
        seconds = time.perf_counter() - started
        names = tuple(spec.path for spec in h5layout.PREDICTION_DATASETS[:engine.n_outputs])
        return PredictSummary(source.n_rows, length, int(h5layout.real_lengths(source.start_ends).sum()), seconds,
                              names)
    finally:
        stack.close()
        source.close()


def _run_overlap(engine: Engine, source: PredictionInput, writer, offset: int, core: int,
                 options: PredictOptions, bar) -> None:
    """Feed windows of consecutive blocks to the network in batches of `batch_size`; write blocks in order."""
    length = source.length
    pending: list[ov.BlockMerger] = []  # blocks with windows still to predict, in row order
    batch_inputs, batch_targets = [], []

    def run_batch():
        outputs = engine(np.stack(batch_inputs))
        for i, (merger, window) in enumerate(batch_targets):
            merger.add(window, [out[i] for out in outputs])
        batch_inputs.clear()
        batch_targets.clear()
        while pending and pending[0].remaining == 0:
            merger = pending.pop(0)
            block = merger.block
            writer.write(block.range_start_row + block.first, merger.result())
            bar.update(block.last - block.first)

    for block, sequence in _prefetch(_overlap_blocks(source, offset, core, options.block_chunks)):
        merger = ov.BlockMerger(block, length, engine.n_outputs)
        pending.append(merger)
        origin = block.context_first * length
        for window in block.windows:
            batch_inputs.append(sequence[window.start - origin:window.start - origin + length])
            batch_targets.append((merger, window))
            if len(batch_inputs) == options.batch_size:
                run_batch()
    if batch_inputs:
        run_batch()
    if pending:
        raise AssertionError("overlap blocks left unwritten")


def model_md5sum_line(path) -> str:
    """`md5sum`'s output line for the model file, as upstream stores it ("<md5>  <name>").

    The file's name, not its absolute path: the line goes into the GFF3 header, which should not carry the
    folders of the machine it was made on (`model_path` keeps the full path in the predictions file).
    """
    from helixtune.model.model_file import file_md5

    return f"{file_md5(path)}  {Path(path).name}"


def predict(model_path, test_data, output_path, options: PredictOptions | None = None,
            pretrained_model_path=None, coverage_norm=..., post_coverage_hidden_layer: bool | None = None
            ) -> PredictSummary:
    """Load a model file (helixtune or upstream Keras) and predict `test_data` (the CLI's one call).

    `post_coverage_hidden_layer`: upstream's prediction flag for a coverage model with a hidden layer; the model
    file says so itself, so the flag is only checked against it (None: not given).
    """
    from helixtune.model.loading import open_model

    options = options or PredictOptions()
    loaded = open_model(model_path, pretrained_model_path=pretrained_model_path, coverage_norm=coverage_norm)
    if post_coverage_hidden_layer and getattr(loaded.model, "hidden", None) is None:
        raise HelixtuneError(f"{model_path}: --post-coverage-hidden-layer was given, but the model has no hidden "
                             "layer after the coverage input; leave the flag out")
    absolute = Path(loaded.path).resolve()  # the file actually loaded (also for bundled model names)
    return predict_file(loaded.model, test_data, output_path, options, model_path=absolute,
                        model_config_attr=loaded.model_config_attr, model_md5sum=model_md5sum_line(absolute),
                        coverage_datasets=loaded.coverage_datasets,
                        decode_params=loaded.metadata.get(MODEL_PARAMS_KEY))
