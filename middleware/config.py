"""Typed options from ini strings: the one PasteDeploy factory helper every middleware uses.

PasteDeploy hands a filter factory every option as a string (``min_size = 500`` arrives as
``"500"``, ``secure = false`` as ``"false"``, which Python finds true). Each middleware declares
how to convert its options once, and :func:`filter_app_factory` turns that declaration into the
``paste.filter_app_factory`` entry point::

    filter_factory = filter_app_factory(CompressionMiddleware, {
        "min_size": as_int,
        "encodings": as_list,
        "exclude_paths": as_list,
    })

Rules, learned from PasteDeploy and Pyramid users' mistakes:

* Booleans use PasteDeploy's words (``true/yes/on/1``, ``false/no/off/0``) and anything else,
  the empty string included, is an error rather than a silent ``False``.
* Lists split on commas *and* newlines (PasteDeploy's own ``aslist`` turns ``"a, b"`` into
  ``["a,", "b"]``).
* Durations take a suffix: ``90``, ``90s``, ``15m``, ``12h``, ``14d``, ``2w``.
* ``env:NAME`` reads the value from the environment *after* PasteDeploy parsed the file, so a
  secret never meets ini interpolation (a raw ``%`` in a secret makes ConfigParser print its
  tail). A missing or empty variable is an error naming the option and the variable, never the
  value.
* Paths are resolved against the ini file's directory (``here``), not the server's CWD.
* Unknown options are refused: keys are case-sensitive in PasteDeploy and a typo would
  otherwise be ignored.

Every conversion error is a ``ValueError`` that names the filter, the option and the ini file.
(Not a ``TypeError``: PasteDeploy rewrites a ``TypeError`` mentioning "arguments" into a
confusing signature message.) The converters only turn text into values: what a value may be
is checked by the middleware's constructor (:mod:`middleware.options`), the same check as for
options given in Python (:class:`~middleware.Pipeline` puts the ini section and file in front
of its message).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

Converter = Callable[[str], Any]

__all__ = [
    "as_bool",
    "as_float",
    "as_int",
    "as_keys",
    "as_list",
    "as_optional",
    "as_path",
    "as_seconds",
    "as_str",
    "coerce_options",
    "filter_app_factory",
    "resolve_env",
]

_TRUE = frozenset({"true", "yes", "on", "y", "t", "1"})
_FALSE = frozenset({"false", "no", "off", "n", "f", "0"})
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def as_str(value: str) -> str:
    """The value unchanged (strip surrounding white space)."""
    return value.strip()


def as_bool(value: str) -> bool:
    """``true/yes/on/y/t/1`` or ``false/no/off/n/f/0``, any case; anything else is an error."""
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"expected a boolean (true/false, yes/no, on/off, 1/0), got {value!r}")


def as_int(value: str) -> int:
    """A whole number (``500``, ``1_000``)."""
    try:
        return int(value.strip())
    except ValueError:
        raise ValueError(f"expected a whole number, got {value!r}") from None


def as_float(value: str) -> float:
    """A decimal number."""
    try:
        return float(value.strip())
    except ValueError:
        raise ValueError(f"expected a number, got {value!r}") from None


def as_seconds(value: str) -> int | float:
    """A duration in seconds: a number with an optional unit ``s``, ``m``, ``h``, ``d``, ``w``."""
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"expected a duration such as 90, 90s, 15m, 12h, 14d or 2w, got {value!r}")
    seconds = float(match.group(1)) * _UNITS[match.group(2).lower()]
    return int(seconds) if seconds.is_integer() else seconds


def as_list(value: str) -> list[str]:
    """Items separated by commas and/or new lines; blanks dropped."""
    return [item.strip() for item in re.split(r"[,\n]", value) if item.strip()]


def as_keys(value: str) -> str | list[str]:
    """Secret keys separated by commas or white space, newest first (``env:NAME`` may hold
    several, so one variable can serve the session and the auth filter).

    A key that contains a comma or white space can only be given from Python.
    """
    keys = [key for key in re.split(r"[\s,]+", value) if key]
    if not keys:
        raise ValueError("expected at least one key")
    return keys[0] if len(keys) == 1 else keys


def as_optional(converter: Converter) -> Converter:
    """Wrap ``converter`` so that an empty value or ``none`` means ``None``."""

    def convert(value: str) -> Any:
        if value.strip().lower() in ("", "none"):
            return None
        return converter(value)

    convert.__name__ = f"optional_{getattr(converter, '__name__', 'value')}"
    return convert


def as_path(value: str) -> str:
    """A file path; relative paths are resolved by :func:`coerce_options` against ``here``."""
    return value.strip()


def resolve_env(value: str, option: str) -> str:
    """Return ``value``, or the environment variable it names when it reads ``env:NAME``."""
    if not value.startswith("env:"):
        return value
    name = value[4:].strip()
    if not name:
        raise ValueError("'env:' must be followed by an environment variable name")
    resolved = os.environ.get(name, "")
    if not resolved:
        raise ValueError(f"the environment variable {name} is not set or empty")
    return resolved


def coerce_options(spec: Mapping[str, Converter], local_conf: Mapping[str, str],
                   global_conf: Mapping[str, str] | None = None, *,
                   where: str = "filter") -> dict[str, Any]:
    """Convert ini strings to typed keyword options according to ``spec``.

    ``spec`` maps each accepted option to a converter. ``where`` names the filter in errors.

    >>> coerce_options({"min_size": as_int}, {"min_size": "500"})
    {'min_size': 500}
    """
    global_conf = global_conf or {}
    source = global_conf.get("__file__")
    place = f"{where} in {source}" if source else where
    options: dict[str, Any] = {}
    for key, raw in local_conf.items():
        if key not in spec:
            known = ", ".join(sorted(spec)) or "none"
            raise ValueError(f"{place}: unknown option {key!r} (known options: {known})")
        converter = spec[key]
        try:
            resolved = resolve_env(raw, key) if isinstance(raw, str) else raw
            value = converter(resolved) if isinstance(resolved, str) else resolved
        except ValueError as exc:
            if raw.startswith("env:") and "environment variable" not in str(exc):
                # The value came from the environment: it may be a secret, never echo it.
                exc = ValueError(f"the value of {raw[4:].strip()} is not valid here")
            raise ValueError(f"{place}: option {key!r}: {exc}") from None
        if converter is as_path and value and not os.path.isabs(value) and global_conf.get("here"):
            value = os.path.join(global_conf["here"], value)
        options[key] = value
    return options


def filter_app_factory(factory: Callable[..., WSGIApplication], spec: Mapping[str, Converter],
                       name: str | None = None,
                       build: Callable[[dict[str, Any]], dict[str, Any]] | None = None
                       ) -> Callable[..., WSGIApplication]:
    """Make a ``paste.filter_app_factory`` entry point for ``factory`` from an option ``spec``.

    ``build`` may turn the coerced options into the constructor's keywords (for options that are
    objects, such as authentication backends described by several ini keys).
    """
    label = f"filter {name!r}" if name else f"filter {factory.__name__}"

    def paste_factory(app: WSGIApplication, global_conf: Mapping[str, str] | None = None,
                      **local_conf: str) -> WSGIApplication:
        options = coerce_options(spec, local_conf, global_conf, where=label)
        if build is not None:
            options = build(options)
        return factory(app, **options)

    paste_factory.__name__ = f"{factory.__name__}_paste_factory"
    paste_factory.__doc__ = f"PasteDeploy ``paste.filter_app_factory`` for {factory.__name__}."
    paste_factory.spec = dict(spec)  # type: ignore[attr-defined]
    return paste_factory
