"""The `helixtune` command line: one module per command, each a thin wrapper over a library function.

A command module defines `register(subparsers)`, which adds its parser and sets `func` to a function
`run(args) -> int | None`. Heavy libraries (torch, numba, pysam) are imported inside `run`, so that
`helixtune --help` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from helixtune import __version__
from helixtune.errors import HelixtuneError

# the order here is the order of `helixtune --help`: the data flow, from FASTA to report
COMMAND_MODULES = (
    "helixtune.cli.example_data",
    "helixtune.cli.encode",
    "helixtune.cli.import_gff",
    "helixtune.cli.export",
    "helixtune.cli.gff2h5",
    "helixtune.cli.convert_model",
    "helixtune.cli.predict",
    "helixtune.cli.decode",
    "helixtune.cli.decode_params",
    "helixtune.cli.add_coverage",
    "helixtune.cli.select_confident",
    "helixtune.cli.split",
    "helixtune.cli.train",
    "helixtune.cli.evaluate",
    "helixtune.cli.annotate",
    "helixtune.cli.self_train",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="helixtune",
        description="Helixer-style gene annotation with a deep network, and fine-tuning it for your species.",
    )
    parser.add_argument("--version", action="version", version=f"helixtune {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="<command>", title="commands")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def _command_parser(parser: argparse.ArgumentParser, command: str | None):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            return action.choices[command]
    return None


# every argument that takes a model file (dest names); `bundled` / `bundled:NAME` there means a shipped model
MODEL_PATH_DESTS = ("model", "load_model_path", "pretrained_model_path")


def resolve_bundled_model_names(args) -> None:
    from helixtune.data import resolve_model_path

    for dest in MODEL_PATH_DESTS:
        if isinstance(getattr(args, dest, None), str):
            setattr(args, dest, resolve_model_path(getattr(args, dest)))


def quiet_library_noise() -> None:
    """Hide messages of libraries that are not about the user's run (Lightning's advert, torch's deprecations)."""
    import logging
    import warnings

    warnings.filterwarnings("ignore", message=r".*_pytree.*is deprecated")  # torch's, raised inside Lightning
    warnings.filterwarnings("ignore", message=r".*treespec.*is deprecated")
    warnings.filterwarnings("ignore", module=r"lightning\.pytorch\.utilities\._pytree")
    noise = ("litlogger", "GPU available:", "TPU available:", "HPU available:", "Detected KeyboardInterrupt")
    logger = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    if not any(getattr(f, "helixtune", False) for f in logger.filters):
        def quiet(record) -> bool:
            return not any(text in record.getMessage() for text in noise)
        quiet.helixtune = True
        logger.addFilter(quiet)


def _was_interrupted(error: BaseException) -> bool:
    """A KeyboardInterrupt that a C extension wrapped (SystemError '... returned a result with an exception set')."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, KeyboardInterrupt):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def main(argv: list[str] | None = None) -> int:
    import os
    import signal
    import threading

    from helixtune import atomic
    from helixtune.errors import name_h5_read_errors
    from helixtune.numbacache import ensure_numba_cache

    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # report it with the command's own usage, not the list of commands
        command_parser = _command_parser(parser, getattr(args, "command", None))
        (command_parser or parser).error(f"unrecognized arguments: {' '.join(unknown)}")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    quiet_library_noise()
    ensure_numba_cache()
    undo_h5_read_errors = name_h5_read_errors()

    def on_sigint(signum, frame):
        atomic.interrupted.set()  # remembered even when a library swallows the KeyboardInterrupt
        raise KeyboardInterrupt

    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, on_sigint) if in_main_thread else None
    previous_hook = sys.unraisablehook
    sys.unraisablehook = _quiet_h5_cleanup_errors
    atomic.interrupted.clear()
    try:
        code, message = _run_command(args)
    finally:
        if in_main_thread:
            signal.signal(signal.SIGINT, previous)
        if argv is not None:
            sys.unraisablehook = previous_hook
            undo_h5_read_errors()
    if message:
        print(f"helixtune {args.command}: {message}", file=sys.stderr)
    if code and argv is None and _h5_files_left_open():
        # an h5 file that could not be closed (disk full, Ctrl-C inside HDF5) would be flushed again, with
        # more errors, at interpreter exit; its temporary file is already removed, so leave at once
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _quiet_h5_cleanup_errors(unraisable) -> None:
    """h5py reports a failed close of an h5 object again when the object is freed; the command has reported it."""
    traceback, files = unraisable.exc_traceback, []
    while traceback is not None:
        files.append(traceback.tb_frame.f_code.co_filename)
        traceback = traceback.tb_next
    if any("h5py" in name for name in files) or "h5py" in f"{unraisable.object} {unraisable.err_msg}":
        return
    sys.__unraisablehook__(unraisable)


def _h5_files_left_open() -> bool:
    if "h5py" not in sys.modules:
        return False
    import h5py

    try:
        return bool(h5py.h5f.get_obj_ids(h5py.h5f.OBJ_ALL, h5py.h5f.OBJ_FILE))
    except Exception:
        return True


_failed_h5_objects: list = []


def _run_command(args) -> tuple[int, str | None]:
    """Run the command; (exit code, one-line message or None). No traceback reaches the user."""
    import os

    from contextlib import ExitStack

    from helixtune import atomic
    from helixtune.cli.guards import check_inputs, hold_locks, refuse_overwriting_inputs
    from helixtune.errors import SYSTEM_ERROR_IN_TEXT, describe_os_error

    interrupted = (130, "interrupted")
    try:
        resolve_bundled_model_names(args)
        refuse_overwriting_inputs(args)
        with ExitStack() as guards:
            hold_locks(args, guards)
            check_inputs(args)
            status = args.func(args)
        if atomic.interrupted.is_set():
            return interrupted
        return int(status or 0), None
    except HelixtuneError as error:
        return 1, f"error: {error}"
    except KeyboardInterrupt:
        return interrupted
    except BrokenPipeError:  # the reader of our output went away (`| head`): stop quietly, as other tools do
        try:  # what is still buffered for the closed pipe goes nowhere, instead of failing again at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return 141, None
    except OSError as error:
        # h5 objects of a file whose close failed can crash HDF5 when they are freed: keep them (through the
        # traceback's frames) until the process ends
        _failed_h5_objects.append(error)
        if atomic.interrupted.is_set() or _was_interrupted(error):
            return interrupted
        return 1, f"error: {describe_os_error(error)}"
    except MemoryError:
        return 1, "error: out of memory (try a smaller --batch-size or fewer --threads)"
    except Exception as error:
        if atomic.interrupted.is_set() or _was_interrupted(error):
            return interrupted
        if SYSTEM_ERROR_IN_TEXT.search(str(error)):  # a system error that a library wrapped (HDF5, safetensors)
            _failed_h5_objects.append(error)
            return 1, f"error: {describe_os_error(error)}"
        if os.environ.get("HELIXTUNE_TRACEBACK"):
            raise
        message = " ".join(str(error).split()) or "(no message)"
        return 1, (f"error: unexpected {type(error).__name__}: {message} (this is a bug in helixtune; set "
                   f"HELIXTUNE_TRACEBACK=1 to see where it happened, and please report it)")
