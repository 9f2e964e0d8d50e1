"""middleware.integrations: flask.session and Django's request.session are the suite's session.

In-process checks of the adapters (the recipes' tests drive Flask-Login, Flask-WTF,
contrib.auth and the admin under gunicorn): one session system, ids rotated through the
suite, no cookie of the framework's own, and a clear error naming the fix when the suite's
SessionMiddleware is missing.
"""

from __future__ import annotations

import pytest
from werkzeug.test import Client

from django_support import configure_django
from middleware.sessions import MemoryStore, SessionMiddleware, get_session

KEY = "integration-test-key-0123456789abcdef"


def cookie(response) -> str | None:
    """The value of the session cookie this response sets, if any."""
    for header in response.headers.getlist("Set-Cookie"):
        name, _, rest = header.partition("=")
        if name == "session":
            return rest.split(";", 1)[0]
    return None


# -- Flask ------------------------------------------------------------------------------------

def flask_app(**options):
    from flask import Flask, jsonify, request, session

    from middleware.integrations.flask import use_suite_sessions

    app = Flask("integration_test")
    app.config.update(PROPAGATE_EXCEPTIONS=True, SECRET_KEY="flask-extension-key")
    use_suite_sessions(app, **options)

    @app.post("/add")
    def add():
        session["items"] = [*session.get("items", []), request.form["item"]]
        return jsonify(suite=dict(get_session(request.environ)), new=session.new)

    @app.post("/nested")
    def nested():
        session["items"].append(request.form["item"])  # in place: flag it
        session.modified = True
        return "", 204

    @app.get("/show")
    def show():
        session.permanent = False  # unchanged: must not cost a save
        return jsonify(items=session.get("items", []), permanent=session.permanent,
                       modified=session.modified)

    @app.post("/login")
    def login():
        session.regenerate()
        session["user"] = "alice"
        return "", 204

    @app.post("/logout")
    def logout():
        session.invalidate()
        return "", 204

    @app.get("/untouched")
    def untouched():
        return "no session here"

    return app


def test_flask_session_is_the_suite_session():
    app = flask_app()
    app.wsgi_app = SessionMiddleware(app.wsgi_app, KEY, store=MemoryStore())
    client = app.test_client()
    first = client.post("/add", data={"item": "book"})
    assert first.json == {"suite": {"items": ["book"]}, "new": True}
    assert [c.partition("=")[0] for c in first.headers.getlist("Set-Cookie")] == ["session"]
    assert client.post("/add", data={"item": "pen"}).json["new"] is False
    assert client.post("/nested", data={"item": "ink"}).status_code == 204
    shown = client.get("/show")
    assert shown.json == {"items": ["book", "pen", "ink"], "permanent": False,
                          "modified": False}
    assert "Set-Cookie" not in shown.headers
    untouched = client.get("/untouched")
    assert "Set-Cookie" not in untouched.headers and "Cookie" not in untouched.headers.get(
        "Vary", "")


def test_flask_regenerate_and_invalidate_go_through_the_suite():
    app = flask_app()
    app.wsgi_app = SessionMiddleware(app.wsgi_app, KEY, store=MemoryStore())
    client = Client(app)
    anonymous = cookie(client.post("/add", data={"item": "book"}))
    signed_in = cookie(client.post("/login"))
    assert signed_in and signed_in != anonymous
    assert client.get("/show").json["items"] == ["book"]
    stale = Client(app)
    stale.set_cookie("session", anonymous)
    assert stale.get("/show").json["items"] == []
    out = client.post("/logout")
    assert "Max-Age=0" in out.headers["Set-Cookie"]
    assert client.get("/show").json["items"] == []


def flask_login_client(rotate: bool) -> Client:
    from flask import Flask, session
    from flask_login import LoginManager, UserMixin, login_user, logout_user

    from middleware.integrations.flask import use_suite_sessions

    app = Flask(f"flask_login_{rotate}")
    use_suite_sessions(app, rotate_on_login=rotate)
    LoginManager(app).user_loader(lambda name: None)

    @app.get("/visit")
    def visit():
        session["seen"] = True
        return ""

    @app.post("/in")
    def sign_in():
        user = UserMixin()
        user.id = "alice"
        login_user(user)
        return ""

    @app.post("/out")
    def sign_out():
        logout_user()
        return ""

    app.wsgi_app = SessionMiddleware(app.wsgi_app, KEY, store=MemoryStore())
    return Client(app)


@pytest.mark.parametrize("rotate", [True, False])
def test_flask_login_rotates_the_id_unless_told_not_to(rotate):
    client = flask_login_client(rotate)
    before = cookie(client.get("/visit"))
    after_login = cookie(client.post("/in"))
    # a server-side store sends a new cookie only for a new id
    assert (after_login is not None and after_login != before) is rotate
    after_logout = cookie(client.post("/out"))
    assert (after_logout is not None and after_logout not in (before, after_login)) is rotate


def test_flask_without_the_middleware_names_the_fix():
    client = flask_app().test_client()
    assert client.get("/untouched").status_code == 200  # no session used, nothing to fail
    with pytest.raises(RuntimeError, match=r"SessionMiddleware\(app.wsgi_app"):
        client.get("/show")


# -- Django -----------------------------------------------------------------------------------

def django_add(request):
    from django.http import JsonResponse

    request.session["items"] = [*request.session.get("items", []), request.POST["item"]]
    return JsonResponse({"suite": dict(get_session(request.META)),
                         "key": request.session.session_key})


def django_show(request):
    from django.http import JsonResponse

    return JsonResponse({"items": request.session.get("items", []),
                         "key": request.session.session_key,
                         "empty": request.session.is_empty()})


def django_cycle(request):
    from django.http import HttpResponse

    request.session.cycle_key()
    return HttpResponse(status=204)


def django_flush(request):
    from django.http import HttpResponse

    request.session.flush()
    return HttpResponse(status=204)


def _urls():
    from django.urls import path

    return [path("add", django_add), path("show", django_show), path("cycle", django_cycle),
            path("flush", django_flush)]


urlpatterns: list = []
ENGINE_MIDDLEWARE = ["middleware.integrations.django.SessionMiddleware"]


@pytest.fixture
def django_wsgi():
    """``make(**settings)``: Django's WSGI application with these settings overridden."""
    configure_django()
    from django.core.wsgi import get_wsgi_application
    from django.test.utils import override_settings

    urlpatterns[:] = _urls()
    overrides = []

    def make(**options):
        values = {"ROOT_URLCONF": __name__, "ALLOWED_HOSTS": ["*"],
                  "MIDDLEWARE": ENGINE_MIDDLEWARE,
                  "SESSION_ENGINE": "middleware.integrations.django",
                  "DEBUG_PROPAGATE_EXCEPTIONS": True, **options}
        override = override_settings(**values)
        override.enable()
        overrides.append(override)
        return get_wsgi_application()

    yield make
    for override in reversed(overrides):
        override.disable()


def test_django_request_session_is_the_suite_session(django_wsgi):
    app = SessionMiddleware(django_wsgi(), KEY, store=MemoryStore())
    client = Client(app)
    first = client.post("/add", data={"item": "book"})
    assert first.json == {"suite": {"items": ["book"]}, "key": None}
    assert [c.partition("=")[0] for c in first.headers.getlist("Set-Cookie")] == ["session"]
    shown = client.get("/show").json
    key = shown["key"]
    assert shown["items"] == ["book"] and not shown["empty"]
    assert len(key) == 32 and key not in first.headers["Set-Cookie"]
    assert client.get("/show").json["key"] == key  # stable for the session

    anonymous = cookie(first)
    cycled = client.post("/cycle")
    assert cookie(cycled) not in (None, anonymous)
    after = client.get("/show").json
    assert after["items"] == ["book"] and after["key"] != key
    stale = Client(app)
    stale.set_cookie("session", anonymous)
    assert stale.get("/show").json == {"items": [], "key": None, "empty": True}

    assert "Max-Age=0" in client.post("/flush").headers["Set-Cookie"]
    assert client.get("/show").json == {"items": [], "key": None, "empty": True}


def test_django_without_the_wsgi_middleware_names_the_fix(django_wsgi):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match=r"SessionMiddleware\(get_wsgi_application"):
        Client(django_wsgi()).get("/show")


def test_django_own_session_middleware_with_this_engine_names_the_fix(django_wsgi):
    from django.core.exceptions import ImproperlyConfigured

    app = SessionMiddleware(django_wsgi(MIDDLEWARE=[
        "django.contrib.sessions.middleware.SessionMiddleware"]), KEY)
    with pytest.raises(ImproperlyConfigured, match="middleware.integrations.django"):
        Client(app).get("/show")


def test_django_middleware_without_the_engine_setting_fails_at_startup(django_wsgi):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match='SESSION_ENGINE = "middleware.integ'):
        django_wsgi(SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies")
