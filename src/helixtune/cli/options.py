"""A command's options from its options dataclass, so that each default (and its help) is written once.

A field whose metadata names flags (`TrainConfig` in helixtune.train.config shows the form) becomes an argparse
argument: its default is the field's default, its type the field's type (or its metadata's `parse`), bools are
switches (with `negative` flags for the off switch). `add_config_option` adds `--config FILE` (TOML) to any
command's parser: the file's values replace the defaults and the command line overrides the file.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import sys

from helixtune.configfile import field_type, number, option_default, option_fields, read_config_table
from helixtune.errors import HelixtuneError


def argparse_type(parse, name: str | None = None):
    """An argparse `type` from a parser that raises HelixtuneError: the message becomes argparse's."""
    def convert(text):
        try:
            return parse(text)
        except HelixtuneError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    convert.__name__ = name or parse.__name__
    return convert


def add_options(parser: argparse.ArgumentParser, cls, groups: dict | None = None) -> dict:
    """Add an argument per option field of dataclass `cls`; returns the argument groups by title."""
    groups = {} if groups is None else groups
    for f in option_fields(cls):
        meta = f.metadata
        title = meta.get("group")
        if title is None:
            target = parser
        else:
            if title not in groups:
                groups[title] = parser.add_argument_group(title)
            target = groups[title]
        default = option_default(f)
        kind = field_type(cls, f)
        help_text = meta.get("help") or None
        if kind is bool:
            target.add_argument(*meta["flags"], dest=f.name, action="store_true", default=default, help=help_text)
            if meta.get("negative"):
                target.add_argument(*meta["negative"], dest=f.name, action="store_false", default=default,
                                    help=meta.get("negative_help"))
            continue
        kwargs = {"dest": f.name, "default": default, "help": help_text, "required": _required(f)}
        if meta.get("parse") is not None:
            kwargs["type"] = argparse_type(meta["parse"], f.name)
        elif kind in (int, float):
            kwargs["type"] = kind
        for key in ("choices", "metavar"):
            if meta.get(key) is not None:
                kwargs[key] = meta[key]
        long_flags = [flag for flag in meta["flags"] if flag.startswith("--")]
        if "metavar" not in kwargs and "choices" not in kwargs and long_flags:
            kwargs["metavar"] = long_flags[0][2:].replace("-", "_").upper()  # named as the flag, not the field
        target.add_argument(*meta["flags"], **kwargs)
    return groups


def options_from_args(cls, args: argparse.Namespace, **extra):
    """The dataclass `cls` built from parsed `args` (its option fields) and `extra` (the other fields)."""
    values = {f.name: getattr(args, f.name) for f in option_fields(cls)}
    return cls(**values, **extra)


def _required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def config_keys(parser: argparse.ArgumentParser) -> dict:
    """The keys a --config file of `parser`'s command may hold: key -> (dest, reader of the file's value).

    An option's keys are its dest (`batch_size`), the same with dashes and its long flags without the dashes
    (`workers` for --workers); a switch takes true or false (`predict_phase = false` for --no-phase).
    """
    keys = {}
    for action in parser._actions:
        if not action.option_strings or action.dest in ("help", "config", argparse.SUPPRESS):
            continue
        if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
            names = {action.dest, action.dest.replace("_", "-")}
            if isinstance(action, argparse._StoreTrueAction):
                names.update(flag[2:] for flag in action.option_strings if flag.startswith("--"))
            keys.update((name, (action.dest, _switch)) for name in names)
        elif type(action) is argparse._StoreAction:
            names = {action.dest, action.dest.replace("_", "-")}
            names.update(flag[2:] for flag in action.option_strings if flag.startswith("--"))
            keys.update((name, (action.dest, functools.partial(_file_value, action))) for name in names)
    return keys


def _switch(value):
    if not isinstance(value, bool):
        raise HelixtuneError("must be true or false")
    return value


def _file_value(action: argparse.Action, value):
    """A config file's value for `action`: a TOML value of its type, or the text its flag would take."""
    if action.nargs in ("+", "*") or isinstance(action.nargs, int):
        return [_one_value(action, v) for v in (value if isinstance(value, list) else [value])]
    return _one_value(action, value)


def _one_value(action: argparse.Action, value):
    kind = action.type
    if kind in (int, float):
        value = number(value, kind)
    elif kind is not None:
        try:
            value = kind(value)
        except (argparse.ArgumentTypeError, TypeError, ValueError) as err:
            raise HelixtuneError(str(err) or f"not a valid value: {value!r}") from None
    elif not isinstance(value, str):
        raise HelixtuneError(f"must be text, got {value!r}")
    if action.choices is not None and value not in action.choices:
        raise HelixtuneError(f"must be one of {', '.join(map(str, action.choices))}, got {value!r}")
    return value


class _ConfigFileParser(argparse.ArgumentParser):
    """A command's parser whose `--config FILE` supplies the options' values; the command line wins."""

    required_later: tuple = ()  # the required options, checked after the file and the command line are read

    def parse_known_args(self, args=None, namespace=None):
        args = list(sys.argv[1:] if args is None else args)
        path = _config_argument(args)
        namespace = argparse.Namespace() if namespace is None else namespace
        if path is not None:
            try:
                values = read_config_table(path, config_keys(self))
            except HelixtuneError as err:
                self.exit(1, f"{self.prog}: error: {err}\n")
            for name, value in values.items():
                if not hasattr(namespace, name):  # argparse leaves values already set as they are (defaults)
                    setattr(namespace, name, value)
        parsed, extras = super().parse_known_args(args, namespace)
        missing = [action for action in self._actions
                   if action.dest in self.required_later and getattr(parsed, action.dest, None) is None]
        if missing:
            self.error("the following arguments are required: "
                       + ", ".join("/".join(action.option_strings) for action in missing))
        return parsed, extras


def _config_argument(args: list[str]) -> str | None:
    path = None
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--config" and i + 1 < len(args):
            path = args[i + 1]
        elif arg.startswith("--config="):
            path = arg.split("=", 1)[1]
    return path


def add_config_option(parser: argparse.ArgumentParser, example: str, written_to: str | None = None) -> None:
    """`--config FILE` (TOML) for `parser`: the file's keys are the command's options (see config_keys).

    Add it after the command's other arguments. Their required options may then come from the file: they are
    checked after parsing, with argparse's message. `example`: a line of such a file, for the help;
    `written_to`: where a run records the options it used, if it does.
    """
    recorded = f" A run writes the options it used to {written_to}, which --config reads back." if written_to else ""
    parser.add_argument("--config", metavar="FILE", default=None,
                        help=f"options from a TOML file: keys are the option names (with _ or -), e.g. "
                             f"'{example}'; the command line overrides the file.{recorded}")
    required = []
    for action in parser._actions:
        if action.required and action.option_strings:
            action.required = False  # the file may give it
            action.help = (action.help or "") + " (required, here or in --config)"
            required.append(action.dest)
    parser.__class__ = type("ConfigFileParser", (_ConfigFileParser,), {"required_later": tuple(required)})
