"""Flask and Django apps serving the shared bodies, for the peers that only exist inside them.

flask-compress is a Flask extension and Django's ``GZipMiddleware`` a Django middleware, so their
rows are measured over bare Flask and bare Django serving the same bytes; only the *added* cost
is compared with ours. Django is configured in code (no project, no apps, no database) once per
process; each handler reads ``MIDDLEWARE`` when it is built, so a bare and a gzip handler can
live side by side.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from benchmarks.cases.workload import BODY_2K, HTML_TYPE, SECRET, WSGIApp

_django_ready = False


def flask_app(body: bytes, compress: dict[str, Any] | None = None) -> WSGIApp:
    """A Flask app whose ``/`` returns ``body``; ``compress`` is flask-compress config."""
    from flask import Flask, Response

    app = Flask("benchmarks")

    @app.get("/")
    def index() -> Response:
        return Response(body, content_type=HTML_TYPE)

    if compress is not None:
        from flask_compress import Compress

        app.config.update(compress)
        Compress(app)
    return app


def django_app(gzip: bool = False) -> WSGIApp:
    """Django's ``WSGIHandler`` with one view returning the 2 KB page, optionally gzipped.

    Django reads ``ROOT_URLCONF`` on every request, so all handlers share one urlconf (and so
    one body); ``MIDDLEWARE`` is read when the handler is built.
    """
    global _django_ready
    from django.conf import settings

    if not _django_ready:
        import django

        if not settings.configured:
            settings.configure(DEBUG=False, SECRET_KEY=SECRET, ALLOWED_HOSTS=["*"],
                               INSTALLED_APPS=[], MIDDLEWARE=[], USE_TZ=True,
                               ROOT_URLCONF=_urlconf(BODY_2K))
        django.setup()
        _django_ready = True
    from django.core.handlers.wsgi import WSGIHandler

    settings.MIDDLEWARE = ["django.middleware.gzip.GZipMiddleware"] if gzip else []
    handler = WSGIHandler()  # loads MIDDLEWARE now; later changes do not affect it
    return handler


def _urlconf(body: bytes) -> ModuleType:
    """A urlconf module built in memory (Django accepts a module as ``ROOT_URLCONF``)."""
    from django.http import HttpResponse
    from django.urls import path

    def index(request: Any) -> HttpResponse:
        return HttpResponse(body, content_type=HTML_TYPE)

    urlconf = ModuleType("benchmarks_urlconf")
    urlconf.urlpatterns = [path("", index)]  # type: ignore[attr-defined]
    return urlconf
