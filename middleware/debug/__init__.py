"""Debug tracebacks: a full traceback page in the browser when the application raises.

What it does
    When the wrapped application raises (while being called, or while its body is iterated
    and nothing was sent yet), an allowed client gets a ``500`` page with every frame (file,
    line, function, source context with the failing line marked, local variables), the whole
    chain (``__cause__``, ``__context__``, ``ExceptionGroup`` members, notes), the request
    (method, URL, headers, cookies, query and form keys, environ) and the traceback as text to
    copy. Application frames are open, library frames collapsed. Browsers get HTML, ``curl``
    gets plain text, API clients (``Accept: application/json``) get JSON. Every exception is
    also logged (``middleware.debug`` logger).

When NOT to use it
    Never in production, and never where untrusted clients can reach the server: the page
    shows source code and data. It is a development tool; use
    :class:`~middleware.errors.ErrorPageMiddleware` in production. A loud warning is logged
    when it is constructed.

Safety rules
    * Only clients in ``allowed_ips`` (loopback by default; CIDR ranges accepted) see a page;
      everyone else gets ``Internal Server Error`` and nothing else. The address is
      ``REMOTE_ADDR``; ``X-Forwarded-For`` counts only from ``trusted_proxies``.
    * The Host must be an IP literal or one of ``trusted_hosts`` (DNS-rebinding defence).
    * Values whose names look secret (password, secret, token, key, cookie, auth, session,
      csrf, ... and the words in ``scrub``) are masked in locals, nested dicts, object
      attributes, headers, cookies, query and environ; the same values are masked wherever
      else they appear, and so are passwords inside URLs.
    * Every repr is bounded (strings, items, depth), so huge locals keep the page small.
    * The page is self-contained, HTML-escaped throughout, and sent with a nonce-based
      Content-Security-Policy, ``X-Frame-Options: DENY`` and ``Cache-Control: no-store``.
    * Once the first non-empty body chunk is out, an error cannot become a page: the response
      is cut and the server logs the error (appending a page would corrupt the body).

Options (see :class:`DebugMiddleware`)
    ``allowed_ips``, ``evalex`` (an interactive console per frame, behind a random PIN
    printed to the log; see :mod:`middleware.debug.console`), ``scrub``, ``trusted_proxies``,
    ``trusted_hosts``, ``pin``, ``max_tracebacks``, ``console_path``, ``logger``.

Cost
    With no exception, a call and a ``try``: list and file-wrapper bodies are returned
    untouched; other iterables get a small generator until their first non-empty chunk, then
    stream from the application's own iterator.

Usage::

    from middleware import DebugMiddleware

    app = DebugMiddleware(app, allowed_ips=["127.0.0.1", "::1", "192.168.1.0/24"],
                          scrub=["iban"])

PasteDeploy (``[filter:debug]`` with ``use = egg:wsgi-middleware-suite#debug``)::

    allowed_ips = 127.0.0.1, ::1
    evalex = true
    pin = env:DEBUG_PIN
"""

from __future__ import annotations

from middleware.debug.middleware import DebugMiddleware, filter_factory

__all__ = ["DebugMiddleware", "filter_factory"]
