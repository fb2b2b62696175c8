"""Running `helixtune` as a user does (a separate process) and checking that a failure is clean.

A clean failure: the expected exit code, exactly one line on stderr, no Python traceback, and no output or
temporary file left behind.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

TEMPORARY_MARKERS = (".partial", ".lock", ".helixtune-")


def helixtune_command(*args) -> list[str]:
    return [sys.executable, "-m", "helixtune", *map(str, args)]


def child_environment(**extra) -> dict:
    env = dict(os.environ)
    env.pop("HELIXTUNE_TRACEBACK", None)
    env["HELIXTUNE_PROGRESS"] = "0"
    env.update({key: str(value) for key, value in extra.items()})
    return env


def run_helixtune(*args, cwd=None, file_size_limit: int | None = None, env=None, timeout: float = 300,
                  preexec=None) -> subprocess.CompletedProcess:
    """Run `python -m helixtune ARGS`; `file_size_limit` (bytes) simulates a full disk (RLIMIT_FSIZE)."""
    def limit():
        if file_size_limit is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write beyond the limit fails with EFBIG instead
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))
        if preexec is not None:
            preexec()

    return subprocess.run(helixtune_command(*args), cwd=cwd, env=env or child_environment(), capture_output=True,
                          text=True, timeout=timeout, preexec_fn=limit)


def interrupt_when(args, ready, cwd=None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Start `helixtune ARGS` in its own process group, send SIGINT to the group (Ctrl-C) once `ready()`."""
    process = subprocess.Popen(helixtune_command(*args), cwd=cwd, env=child_environment(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + timeout
    while not ready() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def assert_clean_failure(result: subprocess.CompletedProcess, code: int = 1, mentions: str | None = None,
                         progress: bool = False) -> str:
    """Exit `code`, one line on stderr without a traceback (containing `mentions`); returns that line.

    progress=True: commands that report progress (train) may print progress lines before that one line.
    """
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code, f"exit {result.returncode}, stderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    if progress:
        assert lines and lines[-1].startswith("helixtune "), result.stderr
        assert sum(line.startswith("helixtune ") for line in lines) == 1, result.stderr
        lines = lines[-1:]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{result.stderr}"
    if mentions is not None:
        assert mentions in lines[0], lines[0]
    return lines[0]


def leftovers(folder) -> list[str]:
    """Temporary files or folders (any depth) left in `folder`."""
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*")
                  if any(marker in p.name for marker in TEMPORARY_MARKERS))


def snapshot(folder) -> dict:
    """{relative path: (size, mtime_ns)} of every file under `folder`, to show that nothing changed."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}
