"""Tiny PasteDeploy factories for the pipeline tests (referenced from ini files by module path)."""

from __future__ import annotations

from middleware.config import as_bool, as_str, filter_app_factory


class Tag:
    """A middleware that records its name in the response, so the order is visible."""

    def __init__(self, app, name: str = "", secret_key: str | None = None, loud: bool = False):
        self.app, self.name, self.secret_key, self.loud = app, name, secret_key, loud

    def __call__(self, environ, start_response):
        environ.setdefault("tags", []).append(self.name)
        return self.app(environ, start_response)


tag_factory = filter_app_factory(Tag, {"name": as_str, "secret_key": as_str, "loud": as_bool},
                                 name="tag")


def hello_app(environ, start_response):
    body = ("hello " + ",".join(environ.get("tags", []))).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def app_factory(global_conf, **local_conf):
    return hello_app
