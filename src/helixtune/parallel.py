"""How many CPUs this process may use (its affinity, e.g. a SLURM or container allocation)."""

from __future__ import annotations

import os


def available_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
