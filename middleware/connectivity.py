"""Reach the stores a built stack depends on, once, before serving: what ``check`` reports.

A layer that keeps data elsewhere exposes it: the session layer's ``store`` (Redis, SQLite,
memory; the signed cookie needs nothing), the auth layer's ``throttle.store`` (memory or
Redis counters). Each is probed once: ``ping()`` when the store has one, else a read that
changes nothing (a ``load`` of a fresh, unused session id; a ``get`` of an unused counter).
A failure is reported with the store's URL masked, never its password.

Usage::

    from middleware.connectivity import probe_stores

    for probe in probe_stores(Pipeline.from_ini("production.ini")):
        print(probe)       # "session: session store redis://:***@cache:6379/0: ok"
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from middleware.scrubbing import mask_url

if TYPE_CHECKING:
    from middleware.pipeline import Pipeline

__all__ = ["StoreProbe", "describe_store", "probe_stores", "stores_of"]

#: a key no counter uses, read by the throttle probe
_UNUSED_COUNTER = "middleware.check:probe"


@dataclass(frozen=True)
class StoreProbe:
    """The outcome of reaching one store: ``error`` is ``None`` when it answered."""

    layer: str
    kind: str
    where: str
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def __str__(self) -> str:
        state = "ok" if self.ok else f"unreachable ({self.error})"
        return f"{self.layer}: {self.kind} {self.where}: {state}"


def stores_of(layer: Any) -> Iterator[tuple[str, Any]]:
    """``(kind, store)`` for each store the built ``layer`` object reaches at request time."""
    store = getattr(layer, "store", None)
    if store is not None and not getattr(store, "client_side", False):
        yield "session store", store
    counter = getattr(getattr(layer, "throttle", None), "store", None)
    if counter is not None:
        yield "login throttle", counter


def describe_store(store: Any) -> str:
    """Where ``store`` lives, for a report: its URL with the password masked, or its path."""
    url = getattr(store, "url", None)
    if isinstance(url, str) and url:
        return mask_url(url)
    path = getattr(store, "path", None)
    if path is not None:
        return str(path)
    return type(store).__name__


def _reach(store: Any) -> None:
    ping = getattr(store, "ping", None)
    if callable(ping):
        ping()
    elif callable(getattr(store, "load", None)):
        from middleware.sessions.ids import new_session_id

        store.load(new_session_id())
    elif callable(getattr(store, "get", None)):
        store.get([_UNUSED_COUNTER])


def _reason(exc: BaseException, store: Any) -> str:
    """One line on why: the root cause's type and message, any URL in it masked."""
    cause = exc
    while cause.__cause__ is not None:
        cause = cause.__cause__
    text = " ".join(str(cause).split()) or type(cause).__name__
    url = getattr(store, "url", None)
    if isinstance(url, str) and url:
        text = text.replace(url, mask_url(url))
    return f"{type(cause).__name__}: {text}"


def probe_stores(pipeline: Pipeline) -> list[StoreProbe]:
    """Build ``pipeline`` (if not yet) and reach every store of every layer, outermost first."""
    objects = pipeline.build()
    probes = []
    for layer, built in zip(pipeline.layers, objects, strict=False):
        name = layer.name or type(built).__name__
        for kind, store in stores_of(built):
            try:
                _reach(store)
            except Exception as exc:  # noqa: BLE001 - any failure means the store is unusable
                probes.append(StoreProbe(name, kind, describe_store(store), _reason(exc, store)))
            else:
                probes.append(StoreProbe(name, kind, describe_store(store)))
    return probes
