"""Session ids: made from :mod:`secrets`, and their shape checked before any store sees one.

Usage::

    session_id = new_session_id()
    assert is_session_id(session_id) and not is_session_id("../../etc/passwd")
"""

from __future__ import annotations

import re
import secrets

__all__ = ["is_session_id", "new_session_id"]

#: 32 random bytes from :mod:`secrets`, URL-safe base64 without padding: 43 characters.
_ID = re.compile(r"^[A-Za-z0-9_-]{43}$")


def new_session_id() -> str:
    """A fresh, unguessable session id (256 bits from :func:`secrets.token_urlsafe`)."""
    return secrets.token_urlsafe(32)


def is_session_id(value: object) -> bool:
    """Whether ``value`` has the shape of an id from :func:`new_session_id`.

    Checked before any store access, so a forged value never reaches a store query.
    """
    return isinstance(value, str) and _ID.match(value) is not None
