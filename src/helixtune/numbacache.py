"""A writable place for numba's compiled-code cache, chosen before numba is imported.

The decoder's numba functions are cached on disk (`cache=True`). numba keeps the cache in the package's
`__pycache__`, else under the user's home; when the install is read-only and `$HOME` is not writable (common
in containers and on clusters) numba refuses to compile at all ("cannot cache function ...: no locator
available"). `ensure_numba_cache()` then points `NUMBA_CACHE_DIR` at a folder under the temporary directory.
A `NUMBA_CACHE_DIR` that the user set and that is writable is left alone.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def _usable(folder: Path) -> bool:
    """Whether numba could keep its cache in `folder` (the same test numba makes)."""
    try:
        os.makedirs(folder, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:
        return False
    return True


def default_locations() -> list[Path]:
    """numba's own choices, in its order: the given NUMBA_CACHE_DIR, the package's __pycache__, the user cache."""
    locations = []
    if os.environ.get("NUMBA_CACHE_DIR"):
        locations.append(Path(os.environ["NUMBA_CACHE_DIR"]))
    locations.append(PACKAGE_DIR / "decode" / "__pycache__")
    cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    locations.append(Path(cache_home) / "numba")
    return locations


def fallback_location() -> Path:
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"helixtune-numba-cache-{uid}"


def ensure_numba_cache() -> Path | None:
    """Make sure numba has a writable cache folder; return the folder set here, or None if numba's own is fine."""
    if any(_usable(folder) for folder in default_locations()):
        return None
    fallback = fallback_location()
    if not _usable(fallback):
        return None  # nowhere to write: numba reports it
    os.environ["NUMBA_CACHE_DIR"] = str(fallback)
    if "numba" in sys.modules:  # already imported: its configuration was read from the environment then
        from numba.core import config

        config.CACHE_DIR = str(fallback)
    return fallback
