"""The resumable step runner of the pipelines, and its `state.json` contract.

A run directory holds `state.json`: {"steps": {name: {"key", "outputs", "summary", "finished"}}}. Each step
has a name, a key (the options it depends on, as JSON data), its output paths and a function that makes
them and returns a summary. A step is skipped when its recorded key matches and its outputs exist; the
summary it recorded is returned instead. Keys chain: each step's key includes a digest of every earlier
step's key, so a change upstream reruns every step after it. The state is written atomically after each
step, so a run killed at any point resumes at the step it was in.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from helixtune.atomic import atomic_output
from helixtune.errors import InputFileError

STATE_FILE = "state.json"


def file_identity(path) -> dict:
    """What a step key records of an input file: a changed file reruns the steps that read it."""
    path = Path(path)
    stat = path.stat()
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def plain(value):
    """JSON-ready copy: dict keys as strings, anything unusual as its str()."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def as_summary(summary) -> dict:
    """A step's summary (a dataclass or a dict) as plain JSON data for state.json."""
    if dataclasses.is_dataclass(summary):
        return plain(dataclasses.asdict(summary))
    return plain(dict(summary or {}))


class StepRunner:
    """Runs steps in order, skipping those `state.json` records as complete with outputs that exist."""

    def __init__(self, out_dir: Path, n_steps: int, label: str = "", command: str = "self-train"):
        self.out_dir = out_dir
        self.label = label  # e.g. "round 2 " when self-training runs in rounds
        self.command = command  # the log lines' prefix
        self.state_path = out_dir / STATE_FILE
        self.state = {"steps": {}}
        if self.state_path.exists():
            try:
                self.state = json.loads(self.state_path.read_text())
            except (json.JSONDecodeError, OSError) as err:
                raise InputFileError(self.state_path, f"unreadable run state ({err}); remove it to start over")
        self.n_steps = n_steps
        self.index = 0
        self.chain = "start"  # digest of every earlier step's key: a change upstream reruns what follows
        self.skipped: list[str] = []
        self.ran: list[str] = []

    def log(self, message: str) -> None:
        print(f"{self.command}: {message}", file=sys.stderr, flush=True)

    def step(self, name: str, key: dict, outputs: list[Path], function) -> dict:
        """Run `function` (-> summary) unless the step is complete; returns the summary either way."""
        self.index += 1
        key = dict(key, after=self.chain)
        key_digest = digest(key)
        self.chain = digest([self.chain, name, key_digest])
        record = self.state["steps"].get(name)
        prefix = f"{self.label}[{self.index}/{self.n_steps}] {name}"
        if record and record.get("key") == key_digest and all(Path(p).exists() for p in outputs):
            self.log(f"{prefix}: complete, skipped")
            self.skipped.append(name)
            return record.get("summary", {})
        self.log(f"{prefix}: running")
        summary = function() or {}
        self.state["steps"][name] = {"key": key_digest, "outputs": [str(p) for p in outputs], "summary": summary,
                                     "finished": str(datetime.datetime.now())}
        with atomic_output(self.state_path) as tmp:
            tmp.write_text(json.dumps(self.state, indent=1, default=str))
        self.ran.append(name)
        return summary
