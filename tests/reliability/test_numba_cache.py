"""decode works when neither the install nor $HOME is writable (numba's cache then goes to a temporary folder)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

import helixtune
from clirun import child_environment, helixtune_command
from helixtune import numbacache


def test_unwritable_cache_locations_fall_back_to_a_temporary_folder(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setattr(numbacache, "PACKAGE_DIR", blocker / "install")  # nothing can be made under a file
    monkeypatch.setenv("HOME", str(blocker / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker / "cache"))
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(blocker / "given"))
    monkeypatch.setattr(numbacache.tempfile, "gettempdir", lambda: str(tmp_path))
    chosen = numbacache.ensure_numba_cache()
    assert chosen == tmp_path / f"helixtune-numba-cache-{os.getuid()}" and chosen.is_dir()
    assert os.environ["NUMBA_CACHE_DIR"] == str(chosen)


def test_a_writable_location_is_left_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    assert numbacache.ensure_numba_cache() is None
    assert os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "mine")


def test_decode_with_a_read_only_install_and_home(tmp_path, inputs):
    """The package folder is mounted read-only (a private mount namespace) and $HOME cannot be created."""
    unshare = shutil.which("unshare")
    package = Path(helixtune.__file__).resolve().parent
    remount = f"mount --bind {package} {package} && mount -o remount,ro,bind {package} {package}"
    if unshare is None or subprocess.run([unshare, "-m", "sh", "-c", remount], capture_output=True).returncode:
        pytest.skip("cannot mount the package read-only here (needs unshare and mount rights)")
    for name in ("genome.h5", "predictions.h5"):
        shutil.copyfile(inputs / name, tmp_path / name)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    env = child_environment(HOME=blocker / "home", XDG_CACHE_HOME=blocker / "cache",
                            TMPDIR=tmp_path)  # a fresh fallback folder: the cache is really made there
    env.pop("NUMBA_CACHE_DIR", None)
    command = " ".join(shlex.quote(a) for a in helixtune_command("decode", "genome.h5", "predictions.h5", "out.gff3"))
    result = subprocess.run([unshare, "-m", "sh", "-c", f"{remount} && {{ [ -w {package} ] && exit 99; exec {command}; }}"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    if result.returncode == 99:
        pytest.skip("the read-only mount did not take effect")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and (tmp_path / "out.gff3").exists()
    assert any((tmp_path / f"helixtune-numba-cache-{os.getuid()}").iterdir())
