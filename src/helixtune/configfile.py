"""Options as TOML files: read a command's `--config FILE`, write the config a run used.

A field of an options dataclass is an option when its metadata names command-line flags (see `TrainConfig`).
The files are flat (`key = value`, values scalars or lists of scalars), so a small writer is enough; reading
uses `tomllib`. Which keys a file may hold, and how their values are read, is the command's business
(helixtune.cli.options reads them as its options).
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
import types
import typing
from pathlib import Path

from helixtune.errors import HelixtuneError, InputFileError


def option_fields(cls) -> list[dataclasses.Field]:
    """The fields of `cls` that are options (their metadata names flags), in declaration order."""
    return [f for f in dataclasses.fields(cls) if f.metadata.get("flags")]


def field_type(cls, f: dataclasses.Field):
    """The field's value type without None: `int | None` -> int; None where it is not one plain type."""
    hint = typing.get_type_hints(cls)[f.name]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        members = [a for a in typing.get_args(hint) if a is not type(None)]
        hint = members[0] if len(members) == 1 else None
    return hint if hint in (bool, int, float, str) else None


def option_default(f: dataclasses.Field):
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def number(value, kind):
    """A whole number (kind int) or any number (kind float), from a TOML number or text."""
    what = "a whole number" if kind is int else "a number"
    if isinstance(value, str):
        try:
            value = kind(value)
        except ValueError:
            raise HelixtuneError(f"not {what}: {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int,) if kind is int else (int, float)):
        raise HelixtuneError(f"must be {what}, got {value!r}")
    return kind(value)


def read_config_table(path, keys: dict) -> dict:
    """{name: value} from the TOML file `path`; `keys`: file key -> (name, function(file value) -> value)."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            table = tomllib.load(handle)
    except FileNotFoundError:
        raise InputFileError(path, "no such file") from None
    except IsADirectoryError:
        raise InputFileError(path, "is a folder; --config needs a TOML file") from None
    except OSError as err:
        raise InputFileError(path, f"cannot be read ({err.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise InputFileError(path, f"not a valid TOML file ({err})") from None
    values: dict = {}
    for key, value in table.items():
        if key not in keys:
            raise InputFileError(path, f"unknown key '{key}' (the keys are the options of `--help` without the "
                                       f"leading dashes)")
        name, convert = keys[key]
        if name in values:
            raise InputFileError(path, f"key '{key}' sets {name} a second time")
        try:
            values[name] = convert(value)
        except HelixtuneError as err:
            raise InputFileError(path, f"key '{key}': {err}") from None
    return values


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        for char, code in (("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
            escaped = escaped.replace(char, code)
        escaped = "".join(c if ord(c) >= 0x20 and c != "\x7f" else f"\\u{ord(c):04x}" for c in escaped)
        return f'"{escaped}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def config_text(options, header: str = "") -> str:
    """The options of dataclass instance `options` as TOML, one `key = value` per line in field order.

    Options whose metadata says `record=False` (actions such as --restart) and unset options (None) are left
    out: reading the text back gives the same options.
    """
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    for f in option_fields(type(options)):
        value = getattr(options, f.name)
        if value is None or not f.metadata.get("record", True):
            continue
        lines.append(f"{f.name} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def write_config_file(path, options, header: str = "") -> Path:
    """Write `config_text(options)` to `path` atomically."""
    from helixtune.atomic import atomic_output

    with atomic_output(path) as tmp:
        Path(tmp).write_text(config_text(options, header), encoding="utf-8")
    return Path(path)
