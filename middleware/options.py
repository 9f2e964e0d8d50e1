"""Checking constructor options: one rule for every middleware, store and backend.

A middleware validates its keyword options in ``__init__``, so a mistake fails when the
application is built, never at the first request. Every check here follows one rule, so the
same mistake gives the same error everywhere:

* a value of the wrong *type* (``min_size="500"``, ``evalex="yes"``, ``scrub="token"`` for a
  list) raises :class:`TypeError`;
* a value of the right type that is not allowed (``gzip_level=12``, ``protect="some"``, an
  empty ``realm``) raises :class:`ValueError`;

and every message starts with the option's name. ``bool`` is never taken for an ``int``
(``min_size=True`` is a mistake, not ``1``).

Options from a PasteDeploy ini file go through the same checks: :mod:`middleware.config` only
turns the strings into Python values and calls the constructor, which checks them here.

Usage::

    from middleware.options import check_bool, check_int, check_strings

    self.min_size = check_int("min_size", min_size, low=0)
    self.evalex = check_bool("evalex", evalex)
    self.scrub = check_strings("scrub", scrub)

Messages never contain the word "arguments" (PasteDeploy rewrites such a ``TypeError`` into a
misleading message about the factory's signature) and show a value only for a
``ValueError``: callers checking a secret use :func:`check_type` and their own message.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Collection, Iterable
from typing import Any, Literal, TypeVar, overload

__all__ = [
    "check_bool",
    "check_callable",
    "check_choice",
    "check_int",
    "check_keys",
    "check_names",
    "check_networks",
    "check_number",
    "check_str",
    "check_strings",
    "check_type",
]

T = TypeVar("T")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def check_type(option: str, value: Any, types: type | tuple[type, ...], expected: str) -> Any:
    """Return ``value`` when it is an instance of ``types`` (never a ``bool`` unless ``types``
    names ``bool``), else raise ``TypeError``: ``"<option> must be <expected>, got <type>"``."""
    wanted = types if isinstance(types, tuple) else (types,)
    if not isinstance(value, wanted) or (isinstance(value, bool) and bool not in wanted):
        raise TypeError(f"{option} must be {expected}, got {type(value).__name__}")
    return value


def check_bool(option: str, value: Any) -> bool:
    """``True`` or ``False`` (not ``1``, not ``"yes"``: that is a ``TypeError``)."""
    checked: bool = check_type(option, value, bool, "True or False")
    return checked


def _bounds(option: str, value: int | float, low: float | None, high: float | None,
            what: str) -> None:
    if (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            bound = f"from {low} to {high}"
        elif low is not None:
            bound = f"at least {low}"
        else:
            bound = f"at most {high}"
        raise ValueError(f"{option} must be {what} {bound}, got {value!r}")


def check_int(option: str, value: Any, *, low: int | None = None, high: int | None = None,
              optional: bool = False) -> Any:
    """A whole number within ``low``..``high`` (inclusive); ``None`` too when ``optional``.

    >>> check_int("gzip_level", 6, low=1, high=9)
    6
    """
    if optional and value is None:
        return None
    check_type(option, value, int, "a whole number (int)")
    _bounds(option, value, low, high, "a whole number")
    return value


def check_number(option: str, value: Any, *, low: float | None = None,
                 high: float | None = None, positive: bool = False,
                 optional: bool = False) -> Any:
    """An ``int`` or ``float`` within ``low``..``high``, finite; ``> 0`` when ``positive``.

    For durations in seconds and the like; ``None`` too when ``optional``.
    """
    if optional and value is None:
        return None
    check_type(option, value, (int, float), "a number")
    if not math.isfinite(value):
        raise ValueError(f"{option} must be a finite number, got {value!r}")
    if positive and value <= 0:
        raise ValueError(f"{option} must be positive, got {value!r}")
    _bounds(option, value, low, high, "a number")
    return value


@overload
def check_str(option: str, value: Any, *, empty: bool = ...,
              optional: Literal[False] = ...) -> str: ...
@overload
def check_str(option: str, value: Any, *, empty: bool = ..., optional: bool) -> str | None: ...
def check_str(option: str, value: Any, *, empty: bool = False,
              optional: bool = False) -> str | None:
    """A string, not empty (unless ``empty``) and on one line; ``None`` too when ``optional``.

    A string that goes into a header or a log line must not carry CR or LF.
    """
    if optional and value is None:
        return None
    text: str = check_type(option, value, str, "a string" + (" or None" if optional else ""))
    if not empty and not text.strip():
        raise ValueError(f"{option} must not be empty")
    if "\r" in text or "\n" in text:
        raise ValueError(f"{option} must be one line (no CR or LF)")
    return text


def check_choice(option: str, value: Any, choices: Collection[T]) -> T:
    """One of ``choices``: a value of another type is a ``TypeError``, another value of the
    choices' type a ``ValueError`` listing them.

    >>> check_choice("protect", "listed", ("all", "listed"))
    'listed'
    """
    for choice in choices:  # by type as well: 1 is not True, True is not 1
        if value == choice and type(value) is type(choice):
            return choice
    listed = ", ".join(repr(c) for c in choices)
    types = tuple({type(c) for c in choices})
    check_type(option, value, types, f"one of {listed}")
    raise ValueError(f"{option} must be one of {listed}, got {value!r}")


def check_strings(option: str, value: Any) -> tuple[str, ...]:
    """A list (any iterable but a string) of strings, returned as a tuple.

    A single string is a ``TypeError``: ``scrub="token"`` would otherwise mean five letters.
    """
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"{option} must be a list of strings, got {type(value).__name__}")
    items = tuple(value)
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"{option} must contain strings, got {type(item).__name__}")
    return items


def check_names(option: str, value: Any) -> tuple[str, ...]:
    """A list of non-empty names (header names, name fragments), stripped of white space."""
    names = tuple(name.strip() for name in check_strings(option, value))
    if not all(names):
        raise ValueError(f"{option} must not contain an empty name")
    return names


def check_networks(option: str, value: Any) -> tuple[Network, ...]:
    """A list of IP addresses and CIDR ranges (``"10.0.0.0/8"``), parsed.

    >>> check_networks("trusted_proxies", ["127.0.0.1", "10.0.0.0/8"])[1]
    IPv4Network('10.0.0.0/8')
    """
    networks = []
    for item in check_strings(option, value):
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{option}: {item!r} is not an IP address or CIDR range") from None
    return tuple(networks)


def check_keys(option: str, value: Any) -> list[str | bytes]:
    """Secret keys: one string or bytes, or a non-empty list of them (newest first).

    Keys are never shown in a message.
    """
    keys = [value] if isinstance(value, (str, bytes)) else value
    if not isinstance(keys, (list, tuple)) or not all(isinstance(k, (str, bytes)) for k in keys):
        raise TypeError(f"{option} must be a string, bytes, or a list of them (newest first), "
                        f"got {type(value).__name__}")
    if not keys or not all(keys):
        raise ValueError(f"{option} must not be empty")
    return list(keys)


def check_callable(option: str, value: Any, *, optional: bool = False) -> Any:
    """A callable; ``None`` too when ``optional``."""
    if (optional and value is None) or callable(value):
        return value
    raise TypeError(f"{option} must be callable, got {type(value).__name__}")

