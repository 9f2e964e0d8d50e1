"""Masking secrets, and bounded reprs of values, for debug pages.

A value is masked when its *name* looks secret: a local variable, a dict key at any depth, a
request header, a cookie, a query parameter or an environ key whose name contains one of
:data:`middleware.scrubbing.SECRET_WORDS` (case-insensitive), or one of the extra words given as
``scrub``. The
words are broad on purpose (Django's masking regex plus Sentry's deny-list): masking
``monkey`` by mistake costs nothing, showing ``api_key`` costs a lot.

Names are not enough: the same secret often shows up again in an exception message
(``int(token)``), another variable or a URL. So every string value seen under a secret name is
remembered and masked wherever it appears on the page, and passwords in URLs
(``postgres://user:pw@host``) are masked by shape.

Reprs are bounded *before* they are built (reprlib-style limits on string length, items and
depth), so a 100k-element list or a 1 MB string costs microseconds and a few hundred bytes.
"""

from __future__ import annotations

import re
import reprlib
from collections.abc import Iterable, Mapping
from types import BuiltinFunctionType, FunctionType, MethodType, ModuleType
from typing import Any

from middleware.options import check_names
from middleware.scrubbing import URL_PASSWORD as _URL_PASSWORD
from middleware.scrubbing import secret_name_pattern

MASK = "********"

_STARS = re.compile(r"\*{8,}")
#: secret values shorter than this are not hunted for in other text (too many false hits)
MIN_SECRET_LENGTH = 4
MAX_REPR = 1000
#: bound on remembered secret pieces, so the masking regex stays small
MAX_SECRETS = 2000
_PIECE = 64


def _pieces(value: str) -> set[str]:
    """What to hunt for: a short secret whole and word by word ("Bearer abc" -> "abc"); a
    long one (a PEM key) in aligned 64-character pieces, so copies of it, truncated ones
    included, are masked piece by piece without a giant pattern."""
    if len(value) <= 2 * _PIECE:
        return {value, *value.split()[:8]}
    return {value[i:i + _PIECE] for i in range(0, min(len(value), 64 * _PIECE), _PIECE)}


class Scrubber:
    """Decides what is secret and masks it.

    :param extra: more name fragments to treat as secret (the middleware's ``scrub`` option).
    """

    def __init__(self, extra: Iterable[str] = ()) -> None:
        words = [word.lower() for word in check_names("scrub", extra)]
        self.extra = tuple(words)
        self._name = secret_name_pattern(words)
        self._known: dict[str | bytes, bool] = {}

    def is_secret(self, name: object) -> bool:
        """Whether a value called ``name`` must be masked."""
        if not isinstance(name, (str, bytes)):
            return False
        known = self._known.get(name)
        if known is None:
            text = name if isinstance(name, str) else name.decode("latin-1")
            known = bool(self._name.search(text))
            if len(self._known) < 4096:  # the same names (environ keys, locals) recur
                self._known[name] = known
        return known

    def session(self) -> Masker:
        """A :class:`Masker` for one error report."""
        return Masker(self)


class Masker:
    """Collects the secret values of one report and masks them in any text."""

    def __init__(self, scrubber: Scrubber) -> None:
        self.scrubber = scrubber
        self._values: set[str] = set()
        self.exact: set[str] = set()  # every secret whole, any length: equal values are masked
        self._pattern: re.Pattern[str] | None = None
        self.repr = _SafeRepr(self)

    def remember(self, value: Any, depth: int = 0, exact_only: bool = False) -> None:
        """Note a secret value (strings inside containers too) to mask it everywhere.

        ``exact_only`` masks only values equal to it (for pieces too short or too common to
        hunt inside other text).
        """
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if isinstance(value, str):
            if value and len(self.exact) < MAX_SECRETS:
                self.exact.add(value)
            if exact_only:
                return
            for part in _pieces(value):
                if len(part) >= MIN_SECRET_LENGTH and len(self._values) < MAX_SECRETS:
                    self._values.add(part)
                    self._values.add(repr(part)[1:-1])  # how it looks inside a repr
            self._pattern = None
        elif depth < 3 and isinstance(value, Mapping):
            for item in list(value.values())[:50]:
                self.remember(item, depth + 1)
        elif depth < 3 and isinstance(value, (list, tuple, set, frozenset)):
            for item in list(value)[:50]:
                self.remember(item, depth + 1)

    def scan(self, mapping: Mapping[Any, Any], depth: int = 0) -> None:
        """Remember the values of secret-named keys of ``mapping`` (nested dicts too)."""
        try:
            items = list(mapping.items())[:200]
        except Exception:  # noqa: BLE001 - a broken mapping is shown, not fatal
            return
        for key, value in items:
            if self.scrubber.is_secret(key):
                self.remember(value)
            elif depth < 3 and isinstance(value, Mapping):
                self.scan(value, depth + 1)
            elif depth < 3 and _has_attributes(value):
                # a settings object or a dataclass: its repr may print its attributes
                self.scan(vars(value), depth + 1)

    def text(self, text: str, keep_length: bool = False) -> str:
        """``text`` with every remembered secret and every URL password masked.

        ``keep_length`` masks each character (for :meth:`head`, which cuts afterwards).
        """
        def mask(match: re.Match[str], group: int = 0) -> str:
            return "*" * len(match.group(group)) if keep_length else MASK

        if self._values:
            if self._pattern is None:
                ordered = sorted(self._values, key=len, reverse=True)
                self._pattern = re.compile("|".join(map(re.escape, ordered)))
            text = self._pattern.sub(mask, text)
        return _URL_PASSWORD.sub(lambda m: m.group(1) + mask(m, 2), text)

    def head(self, text: str, limit: int) -> str:
        """The first ``limit`` characters of ``text``, masked. Masking looks past the cut (with
        lengths kept, so the cut stays where it was), so a secret piece straddling the cut is
        masked whole rather than half shown."""
        head = self.text(text[:limit + 2 * _PIECE], keep_length=True)[:limit]
        return _STARS.sub(MASK, head)

    def bounded(self, text: str, limit: int) -> str:
        """``text`` masked and, when longer than ``limit``, cut with a note of its length."""
        if len(text) <= limit:
            return self.text(text)
        return self.head(text, limit) + f"... ({len(text)} characters)"

    def is_known(self, value: Any) -> bool:
        """Whether ``value`` (a ``str`` or ``bytes``) equals a remembered secret."""
        if isinstance(value, bytes) and len(value) <= 4096:
            value = value.decode("utf-8", "replace")
        return isinstance(value, str) and value in self.exact

    def value(self, name: object, value: Any) -> str:
        """The bounded, masked repr of ``value`` shown under ``name``."""
        if self.scrubber.is_secret(name) or self.is_known(value):
            return MASK
        return self.text(self.repr.repr(value))

    def string(self, name: object, value: str, limit: int = MAX_REPR) -> str:
        """A plain string (a header, an environ value) masked and cut to ``limit``."""
        if self.scrubber.is_secret(name) or self.is_known(value):
            return MASK
        return self.bounded(value, limit)


def _has_attributes(value: Any) -> bool:
    return hasattr(value, "__dict__") and not isinstance(
        value, (type, ModuleType, FunctionType, MethodType, BuiltinFunctionType))


class _SafeRepr(reprlib.Repr):
    """reprlib with larger limits, secret dict keys masked, and a repr that cannot raise."""

    def __init__(self, masker: Masker) -> None:
        super().__init__()
        self.masker = masker
        self.maxlevel = 3
        self.maxstring = 240
        self.maxother = 240
        self.maxlong = 80
        self.maxlist = self.maxtuple = self.maxset = self.maxfrozenset = self.maxdeque = 12
        self.maxdict = 12
        self.maxarray = 12

    def repr(self, x: Any) -> str:
        try:
            text = super().repr(x)
        except Exception as exc:  # noqa: BLE001 - a broken __repr__ must not break the page
            text = f"<{type(x).__name__} object; repr() raised {type(exc).__name__}>"
        if len(text) > MAX_REPR:
            text = text[:MAX_REPR] + "..."
        return text

    def repr_bytes(self, x: bytes, level: int) -> str:
        if self.masker.is_known(x):
            return MASK
        # reprlib has no bytes rule: it would build the full repr of a 1 MB value first.
        if len(x) <= self.maxstring:
            return repr(x)
        return repr(x[:self.maxstring]) + f"... ({len(x)} bytes)"

    def repr_str(self, x: str, level: int) -> str:
        if self.masker.is_known(x):
            return MASK
        if len(x) <= self.maxstring:
            return repr(x)
        return repr(self.masker.head(x, self.maxstring)) + f"... ({len(x)} characters)"

    def repr_dict(self, x: dict[Any, Any], level: int) -> str:
        if not x:
            return "{}"
        if level <= 0:
            return "{...}"
        parts = []
        for i, (key, value) in enumerate(x.items()):
            if i >= self.maxdict:
                parts.append(f"... ({len(x)} items)")
                break
            shown = MASK if self.masker.scrubber.is_secret(key) else self.repr1(value, level - 1)
            parts.append(f"{self.repr1(key, level - 1)}: {shown}")
        return "{" + ", ".join(parts) + "}"

    def repr_instance(self, x: Any, level: int) -> str:
        try:
            text = repr(x)
        except Exception as exc:  # noqa: BLE001 - a broken __repr__ must not break the page
            return f"<{type(x).__name__} object; repr() raised {type(exc).__name__}>"
        if len(text) > self.maxother:
            return text[:self.maxother] + "..."
        return text
