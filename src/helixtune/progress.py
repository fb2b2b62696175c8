"""Progress bars for long steps (tqdm on stderr; silent when stderr is not a terminal unless forced)."""

from __future__ import annotations

import os
import sys

from tqdm import tqdm


def progress_enabled() -> bool:
    env = os.environ.get("HELIXTUNE_PROGRESS")
    if env is not None:
        return env not in ("0", "false", "no", "")
    return sys.stderr.isatty()


def progress_bar(total=None, desc: str = "", unit: str = "it", **kwargs):
    """A tqdm bar that writes to stderr and disappears when progress is disabled."""
    return tqdm(total=total, desc=desc, unit=unit, disable=not progress_enabled(), file=sys.stderr,
                dynamic_ncols=True, **kwargs)
