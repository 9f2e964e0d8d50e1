"""Pipeline builder: compose middlewares around an app, in code or from a PasteDeploy ini.

The first :meth:`Pipeline.use` is the OUTERMOST layer: it sees the request first and the
response last, exactly as a PasteDeploy ``pipeline =`` line reads left to right and as Django's
``MIDDLEWARE`` list does. There is no ``add``/``insert`` with the opposite meaning.

The recommended order (outermost first) is errors (or debug in development), compression,
session, auth, app: error pages catch failures of every layer inside them, compression sees
the final body and merges ``Vary``, and authentication can use the session.

Usage::

    from middleware import Pipeline, ErrorPageMiddleware, SessionMiddleware

    app = (Pipeline()
           .use(ErrorPageMiddleware)
           .use(SessionMiddleware, secret_key=KEY)
           .wrap(wsgi_app))

    # or from an ini file, built by PasteDeploy itself
    pipeline = Pipeline.from_ini("production.ini")   # every option checked here
    print(pipeline)          # the layers, outermost first, secrets masked
    app = pipeline.wrap()    # the ini's own app, wrapped (the stack built while loading)

The pipeline costs nothing per request: :meth:`wrap` returns the nested middleware objects.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

__all__ = ["Layer", "Pipeline", "mask_options"]

from middleware.scrubbing import is_secret_name, mask_url, mask_urls

MASK = "'***'"
_MAX_DEPTH = 4


def mask_options(options: Mapping[str, Any]) -> str:
    """Render keyword options as ``name=value, ...`` with secrets masked.

    A value is masked when its name (or a dict key inside it) looks secret by the vocabulary of
    :mod:`middleware.scrubbing` (``secret_key``, ``password``, ``pin``..., but not the
    ``htpasswd`` path); passwords inside URLs are masked wherever they appear, in option strings
    (``store="redis://:pw@cache/0"``) and in the ``repr`` of objects.
    """
    return ", ".join(f"{name}={_shown(name, value)}" for name, value in options.items())


def _shown(name: object, value: Any, depth: int = 0) -> str:
    if value is not None and is_secret_name(name):
        return MASK
    if isinstance(value, str):
        return repr(mask_url(value)) if "://" in value else repr(value)
    if depth < _MAX_DEPTH and isinstance(value, Mapping):
        items = ", ".join(f"{k!r}: {_shown(k, v, depth + 1)}" for k, v in value.items())
        return "{" + items + "}"
    if depth < _MAX_DEPTH and isinstance(value, (list, tuple)):
        shown = [_shown("", v, depth + 1) for v in value]
        if isinstance(value, tuple):
            return "(" + ", ".join(shown) + ("," if len(shown) == 1 else "") + ")"
        return "[" + ", ".join(shown) + "]"
    return mask_urls(repr(value))


def _factory_name(factory: Callable[..., Any]) -> str:
    return getattr(factory, "__qualname__", None) or type(factory).__name__


@dataclass(frozen=True)
class Layer:
    """One layer of a pipeline: ``factory(app, **options)`` returns the wrapped app.

    ``name`` is what :func:`repr` shows (the class name, or the ini section for a loaded one).
    """

    factory: Callable[..., WSGIApplication]
    options: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""

    def apply(self, app: WSGIApplication) -> WSGIApplication:
        """Wrap ``app`` in this layer."""
        return self.factory(app, **self.options)

    def __repr__(self) -> str:
        return f"{self.name or _factory_name(self.factory)}({mask_options(self.options)})"


class Pipeline:
    """An ordered list of middleware layers, first added = outermost.

    :param app: the app :meth:`wrap` uses when called without one (set by :meth:`from_ini`).
    """

    def __init__(self, app: WSGIApplication | None = None) -> None:
        self.layers: list[Layer] = []
        self.app = app
        #: what :meth:`build` made around :attr:`app`, outermost first, and from which layers
        self._built: tuple[list[Layer], list[Any]] | None = None

    def use(self, factory: Callable[..., WSGIApplication], /, **options: Any) -> Pipeline:
        """Add ``factory`` as the next layer inward; return the pipeline for chaining.

        ``factory`` is called as ``factory(app, **options)``: a middleware class or any callable
        of that shape. Options are checked by the middleware when :meth:`wrap` builds it.
        """
        if not callable(factory):
            raise TypeError(f"use() needs a middleware factory, got {factory!r}")
        self.layers.append(Layer(factory, dict(options)))
        return self

    def wrap(self, app: WSGIApplication | None = None) -> WSGIApplication:
        """Build the stack around ``app`` (or the ini's app) and return the outermost layer.

        Without ``app``, a pipeline loaded by :meth:`from_ini` returns the stack it built while
        loading (so each layer, its store and its start-up log lines exist once).
        """
        if app is None:
            outermost: WSGIApplication = self.build()[0]
            return outermost
        for layer in reversed(self.layers):
            app = layer.apply(app)
        return app

    def build(self) -> list[Any]:
        """Build the stack around :attr:`app`; return each layer's object, outermost first.

        The last item is the app itself. Built once: later calls return the same objects
        unless the layers changed. ``check`` uses them to reach each layer's store.
        """
        if self.app is None:
            raise TypeError("wrap() needs the WSGI app to wrap")
        if self._built is not None and self._built[0] == self.layers:
            return self._built[1]
        return self._build_layers()

    def _build_layers(self, source: str | None = None) -> list[Any]:
        """Apply every layer, innermost first; a ``ValueError`` names the section and
        ``source`` (the ini file) when given and when the message does not already."""
        objects: list[Any] = [self.app]
        for layer in reversed(self.layers):
            try:
                objects.insert(0, layer.apply(objects[0]))
            except ValueError as exc:
                if source is None or source in str(exc):
                    raise
                raise ValueError(f"[filter:{layer.name}] in {source}: {exc}") from exc
        self._built = (list(self.layers), objects)
        return objects

    def __repr__(self) -> str:
        inner = _factory_name(self.app) if self.app is not None else "app"
        if not self.layers:
            return f"Pipeline() -> {inner}"
        lines = "".join(f"\n    {layer!r}," for layer in self.layers)
        return f"Pipeline({lines}\n) -> {inner}"

    __str__ = __repr__

    def __len__(self) -> int:
        return len(self.layers)

    @classmethod
    def from_ini(cls, path: str | os.PathLike[str], name: str = "main",
                 global_conf: Mapping[str, str] | None = None) -> Pipeline:
        """Load the ``[pipeline:NAME]`` (or ``[app:NAME]``) section of a PasteDeploy ini.

        PasteDeploy itself reads the file and finds the factories, so the layering is exactly
        what ``paste.deploy.loadapp`` builds; the pipeline keeps each filter as a layer (named
        after its section, options as written in the file) and the app for :meth:`wrap`.

        The stack is built while loading, so every layer checks its options here (unknown
        names, wrong types, bad values, missing ``env:`` variables), as ``loadapp`` would: a
        ``ValueError`` names the section and the file.
        """
        try:
            from paste.deploy.loadwsgi import APP, loadcontext
        except ImportError:  # a dependency; only a broken install lacks it
            raise ImportError("from_ini needs PasteDeploy: pip install PasteDeploy") from None

        uri = "config:" + os.path.abspath(os.fspath(path))
        context = loadcontext(APP, uri, name=name, global_conf=dict(global_conf or {}))
        filter_contexts = list(getattr(context, "filter_contexts", ()))
        app_context = getattr(context, "app_context", context)
        pipeline = cls(app_context.create())
        names = _pipeline_words(context, name)
        for index, filter_context in enumerate(filter_contexts):
            section = names[index] if len(names) == len(filter_contexts) else ""
            pipeline.layers.append(_layer_from_context(filter_context, section))
        pipeline._build_layers(source=uri[len("config:"):])
        return pipeline


def _pipeline_words(context: Any, name: str) -> list[str]:
    """The filter names of a ``[pipeline:NAME]`` line (PasteDeploy does not keep them)."""
    parser = getattr(getattr(context, "loader", None), "parser", None)
    section = f"pipeline:{name}"
    if parser is None or not parser.has_section(section):
        return []
    words: list[str] = parser.get(section, "pipeline").split()[:-1]
    return words


def _layer_from_context(context: Any, section: str) -> Layer:
    """Turn a PasteDeploy filter context into a :class:`Layer` that builds it the same way."""
    factory = context.object
    global_conf = context.global_conf
    name = section or context.entry_point_name or _factory_name(factory)

    if context.protocol == "paste.filter_app_factory":

        def build(app: WSGIApplication, **options: Any) -> WSGIApplication:
            built: WSGIApplication = factory(app, global_conf, **options)
            return built

    else:

        def build(app: WSGIApplication, **options: Any) -> WSGIApplication:
            built: WSGIApplication = factory(global_conf, **options)(app)
            return built

    return Layer(build, dict(context.local_conf), name=name)
