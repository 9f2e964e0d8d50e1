"""Check a user's object against an extension point's ``Protocol`` when the layer is built.

Each extension point of the suite is a :class:`typing.Protocol`, in the module that owns the
concept: the authentication backend (:class:`middleware.auth.AuthBackend`), the session store
(:class:`middleware.sessions.SessionStore`), the throttle's counter store
(:class:`middleware.auth.ThrottleCounter`) and the error layer's ``notify`` hook
(:class:`middleware.errors.Notifier`). A type checker holds your code to them; this module
holds a running program to them, at construction rather than at the first request that
needs the missing method::

    >>> from middleware.auth import AuthMiddleware
    >>> class MyBackend:
    ...     def extract(self, environ): ...
    >>> AuthMiddleware(app, backends=[MyBackend()])
    Traceback (most recent call last):
    TypeError: backends[0]: MyBackend does not implement middleware.auth.AuthBackend: missing
    cached(), authenticate(), challenge()

A method that exists but cannot take the protocol's arguments is named too
(``authenticate(credentials) cannot be called with (credentials)``), so a method written
without ``self``, or missing a parameter, fails here and not inside a request.
"""

from __future__ import annotations

import inspect
import sys
from typing import TypeVar, cast

__all__ = ["protocol_methods", "require"]

T = TypeVar("T")

# Members every class has, or that ``Protocol`` itself adds: never part of a contract.
_IGNORED = frozenset({"__init__", "__init_subclass__", "__class_getitem__", "__subclasshook__",
                      "__protocol_attrs__", "__non_callable_proto_members__",
                      "__abstractmethods__", "__parameters__", "__orig_bases__"})


def protocol_methods(protocol: type) -> list[str]:
    """The methods ``protocol`` (and the protocols it extends) require, in definition order:
    public ones and ``__call__``."""
    names: list[str] = []
    for klass in reversed(protocol.__mro__):
        if klass is object or not getattr(klass, "_is_protocol", False):
            continue
        for name, value in vars(klass).items():
            if name in _IGNORED or name in names or not callable(value):
                continue
            if name.startswith("_") and name != "__call__":
                continue
            names.append(name)
    return names


def _public_name(protocol: type) -> str:
    """``middleware.auth.AuthBackend`` rather than ``middleware.auth.base.AuthBackend`` when
    the package re-exports it (that is where users import it from)."""
    module = protocol.__module__
    package = module.rpartition(".")[0]
    if package and getattr(sys.modules.get(package), protocol.__name__, None) is protocol:
        module = package
    return f"{module}.{protocol.__qualname__}"


def _call_shape(function: object) -> tuple[list[str], list[str]] | None:
    """The positional and required keyword-only parameter names of a protocol method,
    without ``self``; ``None`` when it has no inspectable signature."""
    try:
        signature = inspect.signature(function)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    positional: list[str] = []
    keywords: list[str] = []
    for index, param in enumerate(signature.parameters.values()):
        if index == 0 and param.name == "self":
            continue
        if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
            if param.default is param.empty:
                positional.append(param.name)
        elif param.kind is param.KEYWORD_ONLY and param.default is param.empty:
            keywords.append(param.name)
    return positional, keywords


def _incompatible(name: str, expected: object, implemented: object) -> str | None:
    """Why ``implemented`` cannot be called as the protocol calls ``expected``, or ``None``."""
    shape = _call_shape(expected)
    if shape is None:
        return None
    positional, keywords = shape
    wanted = ", ".join([*positional, *(["*", *keywords] if keywords else [])])
    # A method is checked through its function, so one written without ``self`` shows up.
    function = getattr(implemented, "__func__", None) if inspect.ismethod(implemented) else None
    try:
        signature = inspect.signature(function or implemented)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None  # a builtin or C callable without a signature: nothing to check
    args = ["self", *positional] if function is not None else positional
    try:
        signature.bind(*args, **dict.fromkeys(keywords))
    except TypeError:
        if function is not None:
            params = list(signature.parameters.values())[1:]  # shown without ``self``
            signature = signature.replace(parameters=params)
        return f"{name}{signature} cannot be called as {name}({wanted})"
    return None


def require(obj: object, protocol: type[T], option: str) -> T:
    """Return ``obj`` if it has every method of ``protocol``, each callable with the
    protocol's arguments; else raise a ``TypeError`` that starts with ``option`` and names
    every method that is missing or does not fit.

    :param obj: the user's object (a backend, a store, a callable).
    :param protocol: a ``typing.Protocol`` class.
    :param option: the option the object was given as, e.g. ``"backends[0]"``, ``"store"``.

    Usage (in a constructor)::

        self.store = require(store, ThrottleCounter, "store")
    """
    problems: list[str] = []
    missing: list[str] = []
    for name in protocol_methods(protocol):
        if name == "__call__":  # a callable protocol: the object itself is called
            implemented: object = obj
            shown = option.rpartition(".")[2].partition("[")[0]
        else:
            implemented = getattr(obj, name, None)
            shown = name
        if not callable(implemented):
            if name == "__call__":
                problems.append("it is not callable")
            else:
                missing.append(f"{name}()")
            continue
        reason = _incompatible(shown, getattr(protocol, name), implemented)
        if reason is not None:
            problems.append(reason)
    if missing:
        problems.insert(0, "missing " + ", ".join(missing))
    if not problems:
        return cast(T, obj)
    raise TypeError(f"{option}: {type(obj).__name__} does not implement "
                    f"{_public_name(protocol)}: " + "; ".join(problems))
