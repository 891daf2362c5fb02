"""Command-line flags generated from a config dataclass, one per field, so the two cannot drift apart.

``add_dataclass_flags(parser, TrainConfig)`` adds ``--lr-drop-factor`` for ``lr_drop_factor`` and so
on, typed from the annotation: ``bool`` becomes ``--flag/--no-flag``, a ``Literal`` gets
``choices``, ``X | None`` also accepts ``none``, ``tuple[int, ...]`` takes several values. Every flag
defaults to "not given" (``argparse.SUPPRESS``) so that :func:`given_values` returns only what the
user typed, and a config file's values are overridden by those alone.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, Callable, Union, get_args, get_origin, get_type_hints

NONE_WORDS = frozenset({"none", "null"})


def option(help: str, default: Any = dataclasses.MISSING) -> Any:
    """A dataclass field carrying its command-line help (read by :func:`add_dataclass_flags`); no default: required."""
    return dataclasses.field(default=default, metadata={"help": help})


def flag_name(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


def add_dataclass_flags(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    cls: type,
    *,
    skip: frozenset[str] = frozenset(),
) -> None:
    """One flag per field of ``cls`` (help from ``field.metadata['help']``, default shown from the class);
    a field without a default is a required flag."""
    hints = get_type_hints(cls)
    required_first = sorted(dataclasses.fields(cls), key=lambda f: f.default is not dataclasses.MISSING)  # stable
    for f in required_first:
        if f.name in skip:
            continue
        kind, optional = _unwrap_optional(hints[f.name])
        required = f.default is dataclasses.MISSING
        help_text = f.metadata.get("help", "")
        shown = "required" if required else f"default: {_show_default(f.default)}"
        options: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS, "required": required}
        if kind is bool:
            options.update(action=argparse.BooleanOptionalAction, help=f"{help_text} ({shown})")
            parser.add_argument(flag_name(f.name), **options)
            continue
        choices = _literal_choices(kind)
        if choices is not None:
            allowed = [*map(str, choices), "none"] if optional else list(map(str, choices))
            options.update(type=_or_none(type(choices[0]), optional), choices=[*choices, None] if optional else choices,
                           metavar="{" + ",".join(allowed) + "}")
        elif get_origin(kind) is tuple:
            item = get_args(kind)[0]
            options.update(type=item, nargs="*", metavar=item.__name__.upper())
        else:
            options.update(type=_or_none(kind, optional), metavar=_metavar(f.name, kind, optional))
        options["help"] = f"{help_text} ({shown})"
        parser.add_argument(flag_name(f.name), **options)


def given_values(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The fields of ``cls`` that appear in ``args`` (only those typed on the command line)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {name: value for name, value in vars(args).items() if name in names}


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    if get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) == 1 and len(get_args(annotation)) == 2:
            return members[0], True
    return annotation, False


def _literal_choices(kind: Any) -> tuple | None:
    return get_args(kind) if get_origin(kind) is typing.Literal else None


def _or_none(convert: Callable[[str], Any], optional: bool) -> Callable[[str], Any]:
    if not optional:
        return convert

    def parse(text: str) -> Any:
        return None if text.lower() in NONE_WORDS else convert(text)

    parse.__name__ = getattr(convert, "__name__", "value")  # argparse names the type in its errors
    return parse


def _metavar(name: str, kind: Any, optional: bool) -> str:
    base = "PATH" if kind is Path else {int: "N", float: "X"}.get(kind, name.upper())
    return f"{base}|none" if optional else base


def _show_default(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, tuple):
        return " ".join(map(str, value)) or "none"
    return str(value)
