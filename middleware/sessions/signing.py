"""Signed cookie values with key rotation: itsdangerous signers, keys derived once.

A token is ``payload.signature``: HMAC-SHA256 over the payload, URL-safe base64, made by an
itsdangerous :class:`~itsdangerous.Signer`. ``URLSafeTimedSerializer`` builds a signer and
derives its key on every call; here each key is derived once (itsdangerous's ``"hmac"``
derivation with the salt) and one signer per key is kept, with a one-shot ``hmac.digest``.

:meth:`Codec.sign` / :meth:`Codec.unsign` sign short ASCII values as they are (a session id);
:meth:`Codec.dumps` / :meth:`Codec.loads` carry text: URL-safe base64 of its UTF-8, or, for
texts of 256 bytes and more when zlib makes them shorter, ``.`` + base64 of the deflated
bytes. Tokens of the earlier timestamped format (``payload.timestamp.signature``, same keys)
still verify: the timestamp is dropped, expiry is checked from the times inside the record.

Keys are given newest first: the first signs, every one verifies, and the index of the one
that matched is returned so a value signed with an old key can be signed again.
"""

from __future__ import annotations

import hashlib
import hmac
import zlib

from itsdangerous import BadData, BadSignature, Signer
from itsdangerous.encoding import base64_decode, base64_encode
from itsdangerous.signer import HMACAlgorithm

__all__ = ["BadData", "Codec"]

#: texts shorter than this are not worth a zlib attempt (a session cookie rarely is)
_COMPRESS_FROM = 256
#: a compressed payload may not inflate beyond this (the cookie limit times a generous ratio)
_MAX_INFLATED = 1 << 20


class _OneShotHMAC(HMACAlgorithm):
    """HMAC-SHA256 through :func:`hmac.digest` (one C call instead of an ``hmac.new`` object)."""

    def __init__(self) -> None:
        super().__init__(hashlib.sha256)

    def get_signature(self, key: bytes, value: bytes) -> bytes:
        return hmac.digest(key, value, "sha256")


class Codec:
    """Sign and verify values with a list of keys (newest first).

    :param keys: the secrets, newest first; none may be empty.
    :param salt: separates tokens made for different purposes with the same keys.
    :param compress: let :meth:`dumps` deflate texts of 256 bytes and more.

    Usage::

        codec = Codec(["new key", "old key"], salt="middleware.sessions.cookie")
        token = codec.dumps('{"user":"alice"}')
        codec.loads(token)   # ('{"user":"alice"}', 0)
    """

    def __init__(self, keys: list[str | bytes], salt: str, compress: bool = True) -> None:
        self.salt = salt
        self.compress = compress
        algorithm = _OneShotHMAC()
        self._signers = [Signer(_derive(key, salt), salt=salt, key_derivation="none",
                                algorithm=algorithm) for key in keys]

    @property
    def key_count(self) -> int:
        """How many keys verify (the first one signs)."""
        return len(self._signers)

    def sign(self, value: str) -> str:
        """``value`` (ASCII, no ``.``) with its signature, by the newest key."""
        data = value.encode("ascii")
        return (data + b"." + self._signers[0].get_signature(data)).decode("ascii")

    def unsign(self, token: str) -> tuple[str, int]:
        """``(value, index of the key that signed it)``; raises :class:`BadData`."""
        try:
            data = token.encode("ascii")
        except UnicodeEncodeError:
            raise BadSignature("not an ASCII token") from None
        value, dot, signature = data.rpartition(b".")
        if dot:
            # compared as the base64 text the signer makes: no decoding of the client's bytes
            for index, signer in enumerate(self._signers):
                if hmac.compare_digest(signer.get_signature(value), signature):
                    return value.decode("ascii"), index
        raise BadSignature("signature does not match any key")

    def dumps(self, text: str) -> str:
        """A signed token carrying ``text`` (signed with the newest key)."""
        raw = text.encode("utf-8")
        if self.compress and len(raw) >= _COMPRESS_FROM:
            packed = zlib.compress(raw, 6)
            if len(packed) < len(raw) - 1:
                return self.sign("." + base64_encode(packed).decode("ascii"))
        return self.sign(base64_encode(raw).decode("ascii"))

    def loads(self, token: str) -> tuple[str, int]:
        """``(text, index of the key that signed it)``; raises :class:`BadData`."""
        payload, index = self.unsign(token)
        compressed = payload.startswith(".")
        if compressed:
            payload = payload[1:]
        # the earlier timestamped format: "<payload>.<timestamp>" (base64 has no ".")
        payload = payload.partition(".")[0]
        try:
            raw = base64_decode(payload)
            if compressed:
                inflater = zlib.decompressobj()
                raw = inflater.decompress(raw, _MAX_INFLATED)
                if inflater.unconsumed_tail:
                    raise ValueError("compressed payload too large")
            return raw.decode("utf-8"), index
        except (ValueError, zlib.error) as exc:
            raise BadData(f"undecodable payload: {exc}") from exc


def _derive(key: str | bytes, salt: str) -> bytes:
    """itsdangerous's ``"hmac"`` key derivation, done once instead of per token."""
    secret = key.encode("utf-8") if isinstance(key, str) else key
    return hmac.digest(secret, salt.encode("utf-8"), hashlib.sha256)
