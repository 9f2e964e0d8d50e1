"""Framework integrations: the suite's session where Flask and Django look for it.

The suite's :class:`~middleware.sessions.SessionMiddleware` wraps the framework's WSGI app and
owns the cookie, the store, signing and expiry. These modules only adapt the request's session
(``environ["middleware.session"]``) to the framework's own session interface, so the framework
and its extensions use one session system, and never write a cookie themselves:

* :mod:`middleware.integrations.flask`: ``use_suite_sessions(app)`` makes ``flask.session``
  the suite's session (Flask-Login and Flask-WTF work on it unchanged).
* :mod:`middleware.integrations.django`: ``SESSION_ENGINE = "middleware.integrations.django"``
  and its ``SessionMiddleware`` make ``request.session`` the suite's session
  (``django.contrib.auth`` and the admin work on it unchanged).

Importing this package imports no framework; each module imports only its own framework.
"""
