"""Signed, timestamped JSON tokens for session cookies, with key rotation.

The token format is itsdangerous's URL-safe timed serializer: ``payload.timestamp.signature``,
the payload being compact JSON in URL-safe base64, zlib-compressed (and then prefixed with
``.``) when that makes it shorter. Signing is itsdangerous's ``TimestampSigner`` with
HMAC-SHA256; unlike ``URLSafeTimedSerializer``, which builds a signer and derives its key on
every call, the keys are derived once per secret here and the signers kept, which halves the
cost of a cookie session.

Keys are given newest first: the first signs, every one verifies, and :meth:`Codec.loads`
says which one matched so the middleware can re-sign a cookie made with an old key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import zlib
from typing import Any

from itsdangerous import BadData, TimestampSigner
from itsdangerous.encoding import base64_decode, base64_encode

__all__ = ["BadData", "Codec"]

#: payloads shorter than this are not worth a zlib attempt
_COMPRESS_FROM = 256
#: a compressed payload may not inflate beyond this (the cookie limit times a generous ratio)
_MAX_INFLATED = 1 << 20


class Codec:
    """Sign and verify JSON values with a list of keys (newest first).

    :param keys: the secrets, newest first; none may be empty.
    :param salt: separates tokens made for different purposes with the same keys.
    :param compress: try zlib on payloads of 256 bytes and more (kept when shorter).
    """

    def __init__(self, keys: list[str | bytes], salt: str, compress: bool = True) -> None:
        self.salt = salt
        self.compress = compress
        self._signers = [
            TimestampSigner(_derive(key, salt), salt=salt, key_derivation="none",
                            digest_method=hashlib.sha256)
            for key in keys]

    def dumps(self, value: Any) -> str:
        """A signed token for ``value`` (signed with the newest key)."""
        raw = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
        prefix = b""
        if self.compress and len(raw) >= _COMPRESS_FROM:
            packed = zlib.compress(raw, 6)
            if len(packed) < len(raw) - 1:
                raw, prefix = packed, b"."
        return self._signers[0].sign(prefix + base64_encode(raw)).decode("ascii")

    def loads(self, token: str, max_age: float) -> tuple[Any, int]:
        """Return ``(value, index of the key that signed it)``.

        Raises an itsdangerous :class:`~itsdangerous.BadData` for a bad signature, an expired
        timestamp (:class:`~itsdangerous.SignatureExpired`) or an undecodable payload.
        """
        data = token.encode("utf-8")
        error: BadData | None = None
        for index, signer in enumerate(self._signers):
            try:
                payload = signer.unsign(data, max_age=max_age)
            except BadData as exc:
                error = error or exc
                continue
            return _decode(payload), index
        assert error is not None
        raise error


def _derive(key: str | bytes, salt: str) -> bytes:
    """itsdangerous's ``"hmac"`` key derivation, done once instead of per token."""
    secret = key.encode("utf-8") if isinstance(key, str) else key
    return hmac.digest(secret, salt.encode("utf-8"), hashlib.sha256)


def _decode(payload: bytes) -> Any:
    try:
        if payload.startswith(b"."):
            inflater = zlib.decompressobj()
            raw = inflater.decompress(base64_decode(payload[1:]), _MAX_INFLATED)
            if inflater.unconsumed_tail:
                raise ValueError("compressed payload too large")
        else:
            raw = base64_decode(payload)
        return json.loads(raw)
    except (ValueError, zlib.error) as exc:
        raise BadData(f"undecodable payload: {exc}") from exc
