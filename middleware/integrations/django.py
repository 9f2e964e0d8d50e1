"""Django: make ``request.session`` the suite's session (a session engine and a middleware).

Django keeps sessions in its own cookie (``sessionid``) and store. With this module,
``request.session`` *is* the session of the suite's
:class:`~middleware.sessions.SessionMiddleware` around Django's WSGI application (same cookie,
store, signing and expiry), so ``django.contrib.auth`` (``login()``, ``logout()``,
``request.user``), ``contrib.messages``, the admin and your views use one session system.
The suite's middleware saves the session and sets the cookie; Django never writes one.

Settings::

    SESSION_ENGINE = "middleware.integrations.django"
    MIDDLEWARE = [
        ...,
        "middleware.integrations.django.SessionMiddleware",   # where Django's was
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        ...,
    ]

``wsgi.py``::

    from django.core.wsgi import get_wsgi_application
    from middleware.sessions import SessionMiddleware

    application = SessionMiddleware(get_wsgi_application(), secret_key=KEY,
                                    store="sqlite:////var/lib/mysite/sessions.db")

The :class:`SessionMiddleware` here subclasses Django's, so the admin's system check for it
passes; it takes ``request.session`` from the WSGI environ instead of Django's cookie.
``login()`` rotates the session id (``cycle_key()`` is the suite's ``regenerate()``);
``logout()`` ends the session (``flush()`` is the suite's ``invalidate()``).

What differs from Django's engines:

* Values must be JSON-serialisable (as with Django's default ``JSONSerializer``).
* The lifetime is the suite middleware's ``max_age`` / ``idle_timeout``; the
  ``SESSION_COOKIE_*`` settings, ``SESSION_SAVE_EVERY_REQUEST`` and ``set_expiry()`` do not
  change the cookie: configure the suite's middleware.
* ``session_key`` is a digest of the suite's session id (stable for the session, changed by
  ``cycle_key()``, never the id itself), or ``None`` for a session not saved yet. The
  session cannot be loaded by that key (``SessionStore(key)``), and ``clearsessions`` has
  nothing to do: the suite's stores expire sessions themselves.
* WSGI only: the session comes from the WSGI environ (``request.META``). Django's test
  ``Client`` bypasses WSGI; test through the wrapped ``application`` (werkzeug's ``Client``,
  WebTest) instead.

Without the suite's middleware around the app (or with Django's own ``SessionMiddleware`` in
``MIDDLEWARE``) the first use of ``request.session`` raises ``ImproperlyConfigured`` naming
the fix; there is no silent fallback to Django's sessions.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.core.exceptions import ImproperlyConfigured

from middleware.sessions import get_session

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment
    from django.http import HttpRequest, HttpResponse

    from middleware.sessions import Session

__all__ = ["ENGINE", "SessionMiddleware", "SessionStore"]

#: the value of ``SESSION_ENGINE`` that selects this module
ENGINE = __name__

_NO_ENVIRON = ('request.session comes from the suite\'s session, but this SessionStore was '
               'made without a request: put "middleware.integrations.django.SessionMiddleware" '
               'in MIDDLEWARE in place of Django\'s "django.contrib.sessions.middleware.'
               'SessionMiddleware"')
_NO_WSGI_MIDDLEWARE = ("request.session is the suite's session, but no SessionMiddleware wraps "
                       "the WSGI application: in wsgi.py, application = SessionMiddleware("
                       "get_wsgi_application(), secret_key=...) (from middleware.sessions import "
                       "SessionMiddleware)")


class SessionStore(SessionBase):
    """``request.session``: Django's session API over the request's suite session.

    Made by :class:`SessionMiddleware` for each request; reading and writing go straight to
    the suite's :class:`~middleware.sessions.Session`, loaded on first use.
    """

    def __init__(self, session_key: str | None = None, *,
                 environ: WSGIEnvironment | None = None) -> None:
        self._environ = environ
        self._suite: Session | None = None
        # Django's session key (its cookie value) is never used: the suite's cookie says which
        # session this is.
        super().__init__(None)

    @property
    def suite(self) -> Session:
        """The suite's :class:`~middleware.sessions.Session` behind this store."""
        suite = self._suite
        if suite is None:
            if self._environ is None:
                raise ImproperlyConfigured(_NO_ENVIRON)
            try:
                suite = self._suite = get_session(self._environ)
            except LookupError:
                raise ImproperlyConfigured(_NO_WSGI_MIDDLEWARE) from None
        return suite

    # SessionBase reads and writes through ``self._session``: make that the suite's session.
    def _get_session(self, no_load: bool = False) -> Session:
        self.accessed = True
        return self.suite

    _session = property(_get_session)

    async def _aget_session(self, no_load: bool = False) -> Session:
        return self._get_session(no_load)

    @property
    def modified(self) -> bool:
        """``True`` when the session will be saved; set it after changing a nested value."""
        return self._modified or (self._suite is not None and self._suite.modified)

    @modified.setter
    def modified(self, value: bool) -> None:
        self._modified = bool(value)
        # Only ever raise the suite's flag: clearing it would drop changes already made.
        if value:
            self.suite.modified = True

    def _get_session_key(self) -> str | None:
        suite = self.suite
        session_id = None if suite.new else getattr(suite, "id", None)
        if session_id is None:
            return None
        return hashlib.sha256(b"django session_key:" + session_id.encode()).hexdigest()[:32]

    session_key = property(_get_session_key)

    # -- what Django's engines do with their own store -------------------------------------

    def clear(self) -> None:
        """Remove every key (the session id stays; :meth:`flush` drops it too)."""
        self.suite.clear()
        self.accessed = self.modified = True

    def is_empty(self) -> bool:
        return not len(self.suite)

    def flush(self) -> None:
        """Drop the data and the id (``logout()``); the response deletes the cookie."""
        self.suite.invalidate()
        self.accessed = self.modified = True

    async def aflush(self) -> None:
        self.flush()

    def cycle_key(self) -> None:
        """New id, same data (``login()``): an id planted before login becomes worthless."""
        self.suite.regenerate()
        self.accessed = self.modified = True

    async def acycle_key(self) -> None:
        self.cycle_key()

    def load(self) -> dict[str, Any]:
        return dict(self.suite)

    def exists(self, session_key: str | None) -> bool:
        return session_key is not None and session_key == self.session_key

    def create(self) -> None:
        self.cycle_key()

    def save(self, must_create: bool = False) -> None:
        """Nothing to write here: the suite's middleware saves when the response starts."""
        if self.accessed:
            self.suite.modified = True

    def delete(self, session_key: str | None = None) -> None:
        if session_key is not None and session_key != self.session_key:
            raise NotImplementedError("the suite's sessions cannot be deleted by key; end a "
                                      "session from its own request with flush()")
        self.flush()

    @classmethod
    def clear_expired(cls) -> None:
        """Nothing to do: the suite's stores drop expired sessions themselves."""


class SessionMiddleware(DjangoSessionMiddleware):
    """Django middleware: ``request.session`` is the suite's session of this request.

    Put it in ``MIDDLEWARE`` where ``django.contrib.sessions.middleware.SessionMiddleware``
    was (it is a subclass, so checks that look for Django's pass) and set
    ``SESSION_ENGINE = "middleware.integrations.django"``. It sets no cookie: the suite's
    ``SessionMiddleware`` around the WSGI application does.
    """

    def __init__(self, get_response: Any) -> None:
        super().__init__(get_response)  # loads settings.SESSION_ENGINE as self.SessionStore
        if not (isinstance(self.SessionStore, type) and issubclass(self.SessionStore,
                                                                   SessionStore)):
            raise ImproperlyConfigured(f'{type(self).__module__}.SessionMiddleware needs '
                                       f'SESSION_ENGINE = "{ENGINE}"')

    def process_request(self, request: HttpRequest) -> None:
        request.session = self.SessionStore(environ=request.META)

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        return response
