"""Row-wise h5 helpers shared by select-confident and split: lining up two files' rows, copying a subset.

A "row dataset" is one whose first axis is the subsequence axis (length N of `data/seqids` or `data/X`);
everything else (e.g. `evaluation/rnaseq_meta/bam_files`) is metadata and is copied whole.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from helixtune import h5layout
from helixtune.errors import InputFileError
from helixtune.progress import progress_bar


def n_rows_of(h5: h5py.File) -> int:
    for name in (h5layout.SEQIDS.path, h5layout.X.path, h5layout.Y.path, h5layout.PREDICTIONS.path):
        if name in h5:
            return int(h5[name].shape[0])
    raise InputFileError(h5.filename, "has neither data/seqids, data/X, data/y nor predictions")


def row_keys(h5: h5py.File, path=None) -> list[tuple] | None:
    """(species, seqid, start, end) per row, or None when the file lacks seqids/start_ends."""
    if h5layout.SEQIDS.path not in h5 or h5layout.START_ENDS.path not in h5:
        return None
    seqids = h5[h5layout.SEQIDS.path][:]
    start_ends = h5[h5layout.START_ENDS.path][:]
    species = h5[h5layout.SPECIES.path][:] if h5layout.SPECIES.path in h5 else [b""] * len(seqids)
    return [(sp, sq, int(a), int(b)) for sp, sq, (a, b) in zip(species, seqids, start_ends)]


def describe_key(key: tuple) -> str:
    species, seqid, start, end = key
    return f"{seqid.decode(errors='replace')}:{start}-{end}"


def align_rows(target_keys: list[tuple], source_keys: list[tuple], target_path, source_path) -> np.ndarray:
    """For each target row, the index of the source row with the same (species, seqid, start, end).

    Species is compared only when both files have it (upstream predictions carry no species).
    """
    use_species = any(k[0] for k in target_keys) and any(k[0] for k in source_keys)
    project = (lambda k: k) if use_species else (lambda k: k[1:])
    index = {}
    for i, key in enumerate(source_keys):
        if project(key) in index:
            raise InputFileError(source_path, f"subsequence {describe_key(key)} appears twice (rows "
                                              f"{index[project(key)]} and {i})")
        index[project(key)] = i
    mapping = np.empty(len(target_keys), dtype=np.int64)
    for i, key in enumerate(target_keys):
        j = index.get(project(key))
        if j is None and use_species and key[1:] in {k[1:] for k in index}:
            theirs = sorted({k[0].decode(errors="replace") for k in index})
            raise InputFileError(source_path, f"holds species {', '.join(theirs[:3])}, but row {i} of {target_path} "
                                              f"is of species {key[0].decode(errors='replace')}; the files are of "
                                              "different species (or were named differently)")
        if j is None:
            raise InputFileError(source_path, f"has no subsequence {describe_key(key)} (row {i} of {target_path}); "
                                              "the files do not cover the same sequences and subsequence length")
        mapping[i] = j
    return mapping


def read_rows(dataset: h5py.Dataset, rows: np.ndarray) -> np.ndarray:
    """dataset[rows] for any (unsorted) row indices; contiguous ascending runs are read as one slice."""
    rows = np.asarray(rows)
    if len(rows) and np.all(np.diff(rows) == 1):
        return dataset[int(rows[0]):int(rows[-1]) + 1]
    order = np.argsort(rows, kind="stable")
    unique, inverse = np.unique(rows[order], return_inverse=True)
    values = dataset[unique]
    out = np.empty((len(rows),) + values.shape[1:], dtype=values.dtype)
    out[order] = values[inverse]
    return out


def is_row_dataset(name: str, dataset: h5py.Dataset, n_rows: int) -> bool:
    if dataset.ndim == 0 or dataset.shape[0] != n_rows:
        return False
    # coverage metadata (one entry per BAM) is never a row dataset, even when n_bams == n_rows
    return not any(part.endswith("_meta") for part in name.split("/")[:-1])


def _like(out: h5py.File, name: str, source: h5py.Dataset, n_rows: int) -> h5py.Dataset:
    kwargs = dict(shape=(n_rows,) + source.shape[1:], maxshape=(None,) + tuple(source.maxshape[1:]),
                  dtype=source.dtype, chunks=source.chunks if source.chunks else (1,) + source.shape[1:])
    kwargs["chunks"] = (1,) + tuple(kwargs["chunks"][1:])
    if source.compression:
        kwargs.update(compression=source.compression, compression_opts=source.compression_opts)
    if source.shuffle:
        kwargs["shuffle"] = True
    if source.fillvalue is not None and source.dtype.kind in "iuf":
        kwargs["fillvalue"] = source.fillvalue
    dataset = out.create_dataset(name, **kwargs)
    for key, value in source.attrs.items():
        dataset.attrs[key] = value
    return dataset


def copy_row_subset(source: h5py.File, out: h5py.File, selected_rows: np.ndarray, block_rows: int = 64,
                    desc: str = "copy", skip=()) -> list[str]:
    """Copy every group and attribute of `source` to `out`; row datasets keep only `selected_rows` (ascending).

    Metadata datasets are copied whole. Returns the names of the row datasets copied.
    """
    n_rows = n_rows_of(source)
    selected_rows = np.asarray(selected_rows, dtype=np.int64)
    row_datasets, other = [], []

    def visit(name, item):
        if isinstance(item, h5py.Group):
            group = out.require_group(name)
            for key, value in item.attrs.items():
                group.attrs[key] = value
        elif name not in skip:
            (row_datasets if is_row_dataset(name, item, n_rows) else other).append(name)

    source.visititems(visit)
    for key, value in source.attrs.items():
        out.attrs[key] = value
    for name in other:
        source.copy(source[name], out, name=name)
    total = len(row_datasets) * len(selected_rows)
    with progress_bar(total=total, desc=desc, unit="rows") as bar:
        for name in row_datasets:
            dataset = source[name]
            target = _like(out, name, dataset, len(selected_rows))
            for begin in range(0, len(selected_rows), block_rows):
                rows = selected_rows[begin:begin + block_rows]
                target[begin:begin + len(rows)] = read_rows(dataset, rows)
                bar.update(len(rows))
    return row_datasets


def check_output_path(output, *inputs) -> Path:
    output = Path(output)
    for path in inputs:
        if path is not None and output.resolve() == Path(path).resolve():
            raise InputFileError(output, "the output file would overwrite an input file")
    return output
