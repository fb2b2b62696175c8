"""Checks and locks that every command gets before it runs, so that command modules stay thin.

- an output that names the same file as an input (also through a link or another spelling) is refused;
- a file or run folder that a command updates in place is locked (`helixtune.locking`): add-coverage's h5
  file, train's run folder, self-train's --out folder; a run folder this run created and left empty on
  failure is removed again;
- inputs whose fault would otherwise surface deep inside a library are checked first.
"""

from __future__ import annotations

import os
from pathlib import Path

# output arguments of each command (dest names; decode and split name theirs in their own way, see below)
OUTPUT_DESTS = ("h5_output_path", "db_path", "log_file", "output", "prediction_output_path", "output_file", "plot",
                "save_model_path", "json_path", "gff_output_path")


def output_paths(args) -> list[str]:
    """The files a command will write, as given on its command line."""
    outputs = [getattr(args, dest) for dest in OUTPUT_DESTS if isinstance(getattr(args, dest, None), str)]
    if args.func.__module__ == "helixtune.cli.decode" and len(getattr(args, "arguments", [])) in (3, 7):
        outputs.append(args.arguments[-1])
    if args.func.__module__ == "helixtune.cli.split":
        from helixtune.pseudolabel.split import output_paths as split_outputs

        outputs.extend(str(path) for path in split_outputs(args.output_pfx))
    return outputs


def _string_arguments(args, wanted) -> list[str]:
    """The string values (lists flattened) of the non-output arguments whose dest `wanted` accepts; decode's
    inputs are its first two positional arguments."""
    if args.func.__module__ == "helixtune.cli.decode":
        return list(args.arguments[:2])
    values = []
    for dest, value in vars(args).items():
        if dest in OUTPUT_DESTS or dest == "func" or not wanted(dest):
            continue
        values.extend(item for item in (value if isinstance(value, list) else [value]) if isinstance(item, str))
    return values


def input_paths(args, outputs) -> list[str]:
    """Every other path-like argument: anything given that names an existing file is an input."""
    return _string_arguments(args, lambda dest: True)


def refuse_overwriting_inputs(args) -> None:
    """Refuse an output that is an input, and an input file that is empty (0 bytes: nothing to read)."""
    from helixtune.atomic import refuse_output_over_input
    from helixtune.errors import InputFileError

    outputs = output_paths(args)
    inputs = input_paths(args, outputs)
    refuse_output_over_input(outputs, inputs)
    for path in file_arguments(args):
        if os.path.isfile(path) and os.path.getsize(path) == 0:
            raise InputFileError(path, "is empty (0 bytes)")


# words in the dest names of arguments that take an input file (not e.g. --species, whose value may happen to
# name a file too)
FILE_DEST_WORDS = ("path", "fasta", "gff", "h5", "bam", "model", "reference", "prediction", "probabilities",
                   "arguments", "test_data", "keras", "filter", "split", "genome")


def file_arguments(args) -> list[str]:
    """The values of the arguments that name input files."""
    return _string_arguments(args, lambda dest: any(word in dest for word in FILE_DEST_WORDS))


def _command(args) -> str:
    return args.func.__module__.rsplit(".", 1)[-1]


def train_run_dir(args) -> Path:
    return Path(args.run_dir) if args.run_dir else Path(str(args.save_model_path) + ".run")


def hold_locks(args, stack) -> None:
    """Lock what the command updates in place, for as long as `stack` is open (refusing a second writer)."""
    from helixtune.atomic import output_folder
    from helixtune.locking import is_worker_process, locked

    command = _command(args)
    if command == "add_coverage" and os.path.isfile(args.h5_data):
        stack.enter_context(locked(args.h5_data, "adding coverage to"))
        return
    if command == "train" and not is_worker_process():
        folder = train_run_dir(args)
    elif command == "self_train":
        folder = Path(args.out)
    else:
        return
    created = not folder.exists()
    output_folder(folder)
    if created:
        stack.callback(_remove_if_empty, folder)
    stack.enter_context(locked(folder, "running in"))


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()  # only succeeds when empty: a run that wrote nothing leaves no folder
    except OSError:
        pass


def check_inputs(args) -> None:
    """Faults of the input that would otherwise end deep inside a library, with a message naming the file."""
    if _command(args) == "train":
        _check_train_inputs(args)
    if _command(args) in ("import_gff", "gff2h5", "self_train"):
        for path in (getattr(args, "gff3", None), getattr(args, "reference_gff", None)):
            _refuse_fasta_as_annotation(path)


def _refuse_fasta_as_annotation(path) -> None:
    """A FASTA given where the annotation belongs (the two are easily swapped on a command line)."""
    import gzip

    from helixtune.errors import InputFileError

    if not path or not os.path.isfile(path):
        return
    try:
        with open(path, "rb") as raw:
            head = raw.read(2)
            raw.seek(0)
            first = gzip.GzipFile(fileobj=raw).read(1) if head == b"\x1f\x8b" else raw.read(1)
    except (OSError, EOFError):
        return  # the reader reports a damaged file with its own message
    if first == b">":
        raise InputFileError(path, "looks like a FASTA file, not a GFF3/GTF annotation (--gff3 and --fasta swapped?)")


def _check_train_inputs(args) -> None:
    import zipfile

    import h5py

    from helixtune.errors import InputFileError

    checkpoint = train_run_dir(args) / "last.ckpt"
    if not args.restart and checkpoint.exists() and not zipfile.is_zipfile(checkpoint):
        problem = "is empty" if checkpoint.stat().st_size == 0 else "is not a training checkpoint"
        raise InputFileError(checkpoint, f"{problem} (a save that was cut short?); pass --restart to start over")
    # missing folders or files are reported by training itself, after its own checks of the options
    data_dir = Path(args.data_dir)
    found = sorted(data_dir.glob("training_data*h5")) + sorted(data_dir.glob("validation_data*h5")) \
        if data_dir.is_dir() else []
    for path in found:
        try:
            with h5py.File(path, "r") as h5:
                has_labels = "data/y" in h5
        except OSError as err:
            raise InputFileError(path, f"not a readable HDF5 file ({str(err).splitlines()[0]})") from None
        if not has_labels:
            raise InputFileError(path, "has no labels (data/y): it looks like a genome file; training needs "
                                       "annotated data (from gff2h5 or export, then split)")
