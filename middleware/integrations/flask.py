"""Flask: make ``flask.session`` the suite's session.

Flask keeps its session in a signed cookie of its own. With :func:`use_suite_sessions`,
``flask.session`` *is* the session of the suite's :class:`~middleware.sessions.SessionMiddleware`
(same cookie, store, signing and expiry), so Flask, Flask-Login, Flask-WTF and ``flash()`` use
one session system. The middleware wraps the app and saves the session; this module never
writes a cookie.

Usage::

    from flask import Flask, session
    from middleware.integrations.flask import use_suite_sessions
    from middleware.sessions import SessionMiddleware

    app = Flask(__name__)
    use_suite_sessions(app)
    app.wsgi_app = SessionMiddleware(app.wsgi_app, secret_key=KEY,
                                     store="sqlite:////var/lib/myapp/sessions.db")

    @app.post("/login")
    def login():
        ...                       # check the password, then:
        session.regenerate()      # new session id, same data (done for you on Flask-Login's
        session["user"] = name    # login_user() when Flask-Login is installed)

What changes for the app:

* Values must be JSON-serialisable (``dict``, ``list``, ``str``, numbers, ``bool``, ``None``):
  a value the suite cannot store raises ``TypeError`` when it is assigned.
* The lifetime is the middleware's ``max_age`` / ``idle_timeout``. ``session.permanent`` is kept
  as a flag (Flask-Login reads it) but ``PERMANENT_SESSION_LIFETIME`` and the ``SESSION_COOKIE_*``
  settings are not used: configure the cookie on the middleware.
* ``session.regenerate()`` (call it at login) and ``session.invalidate()`` (logout: drop all
  data) come from the suite. With Flask-Login installed, :func:`use_suite_sessions` regenerates
  the id on ``login_user()``, on a "remember me" login and on ``logout_user()``.
* ``app.secret_key`` no longer signs the session; extensions still use it (Flask-WTF signs its
  CSRF tokens with it), so keep setting it.
* ``app.test_client()`` works when the middleware is inside ``app.wsgi_app`` (as above);
  ``client.session_transaction()`` does not (it bypasses the middleware): log in with a request.

Without the middleware the first use of ``flask.session`` raises :class:`RuntimeError` naming
the fix; there is no silent fallback to Flask's cookie.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from flask import Flask, request
from flask.sessions import SessionInterface, SessionMixin

from middleware.sessions import get_session

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment
    from flask.wrappers import Request, Response

    from middleware.sessions import Session

__all__ = ["SuiteSession", "SuiteSessionInterface", "use_suite_sessions"]

_MISSING = ("flask.session is the suite's session, but no SessionMiddleware wraps this app: "
            "add app.wsgi_app = SessionMiddleware(app.wsgi_app, secret_key=...) "
            "(from middleware.sessions import SessionMiddleware)")


class SuiteSession(SessionMixin):
    """``flask.session``: a mutable mapping over the request's suite session.

    Reading and writing go straight to the suite's :class:`~middleware.sessions.Session`,
    which is loaded on first use (a request that never touches the session costs nothing).

    :ivar accessed: set by Flask when the app uses ``flask.session``.
    """

    def __init__(self, environ: WSGIEnvironment) -> None:
        self._environ = environ
        self._suite: Session | None = None
        self.accessed = False

    @property
    def suite(self) -> Session:
        """The suite's :class:`~middleware.sessions.Session` behind this mapping."""
        suite = self._suite
        if suite is None:
            try:
                suite = self._suite = get_session(self._environ)
            except LookupError:
                raise RuntimeError(_MISSING) from None
        return suite

    # -- mapping ---------------------------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        return self.suite[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.suite[key] = value

    def __delitem__(self, key: str) -> None:
        del self.suite[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.suite)

    def __len__(self) -> int:
        return len(self.suite)

    def __contains__(self, key: object) -> bool:
        return key in self.suite

    def clear(self) -> None:
        """Remove every key (the session id stays; :meth:`invalidate` drops it too)."""
        self.suite.clear()

    def __repr__(self) -> str:
        return f"<SuiteSession {self._suite!r}>"

    # -- Flask's session attributes --------------------------------------------------------

    @property
    def new(self) -> bool:  # type: ignore[override]
        """``True`` when the request brought no valid session."""
        return self.suite.new

    @property
    def modified(self) -> bool:
        """``True`` when the session will be saved. Set it after changing a nested value."""
        return self._suite is not None and self._suite.modified

    @modified.setter
    def modified(self, value: bool) -> None:
        # Only ever raise the flag: clearing it would silently drop changes already made.
        if value:
            self.suite.modified = True

    @property
    def permanent(self) -> bool:
        """Flask's ``_permanent`` flag. The lifetime is the middleware's ``max_age``."""
        return bool(self.get("_permanent", False))

    @permanent.setter
    def permanent(self, value: bool) -> None:
        # Apps set this on every request; writing only a change spares a save per request.
        if self.permanent != bool(value):
            self["_permanent"] = bool(value)

    # -- the suite's identity operations ---------------------------------------------------

    def regenerate(self) -> None:
        """New session id, same data: call it at login (defeats session fixation)."""
        self.suite.regenerate()

    def invalidate(self) -> None:
        """Drop the data and the id; the response deletes the cookie (logout)."""
        self.suite.invalidate()


class SuiteSessionInterface(SessionInterface):
    """A Flask session interface whose sessions are the suite's (see the module docs).

    ``app.session_interface = SuiteSessionInterface()`` installs it;
    :func:`use_suite_sessions` does that and hooks Flask-Login.
    """

    pickle_based = False

    def open_session(self, app: Flask, request: Request) -> SuiteSession:
        """Wrap the request's suite session; nothing is loaded until the app uses it."""
        return SuiteSession(request.environ)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Nothing to do: ``SessionMiddleware`` saves the session and sets the cookie."""


def use_suite_sessions(app: Flask, *, rotate_on_login: bool = True) -> Flask:
    """Make ``flask.session`` the suite's session for ``app``; return ``app``.

    :param rotate_on_login: when Flask-Login is installed, regenerate the session id on
        ``login_user()``, on a login from the "remember me" cookie and on ``logout_user()``
        (Flask-Login does not do it itself).

    Usage::

        use_suite_sessions(app)
        app.wsgi_app = SessionMiddleware(app.wsgi_app, secret_key=KEY)
    """
    app.session_interface = SuiteSessionInterface()
    if rotate_on_login:
        _rotate_on_flask_login(app)
    return app


def _rotate_on_flask_login(app: Flask) -> None:
    try:
        from flask_login import signals
    except ImportError:
        return
    for signal in (signals.user_logged_in, signals.user_loaded_from_cookie,
                   signals.user_logged_out):
        # weak=False: the receiver is a module function, but say it plainly
        signal.connect(_regenerate, sender=app, weak=False)


def _regenerate(sender: Flask, **extra: Any) -> None:
    """Flask-Login signal receiver: the user changed, so the session id changes too."""
    try:
        session = get_session(request.environ)
    except LookupError:
        raise RuntimeError(_MISSING) from None
    session.regenerate()
