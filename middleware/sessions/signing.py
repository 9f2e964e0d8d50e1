"""Signed cookie values with key rotation: itsdangerous signers, each key derived once.

A token is ``payload.signature``: HMAC-SHA256 over the payload, URL-safe base64, made by an
itsdangerous :class:`~itsdangerous.Signer`. ``URLSafeTimedSerializer`` builds a signer and
derives its key on every call, and ``hmac.digest`` sets up the key's inner and outer pads on
every call; here each secret gets one :class:`KeySigner`, whose key is derived once
(itsdangerous's ``"hmac"`` derivation with the salt) and kept as a keyed HMAC object that each
signature copies, so a signature costs one copy, one update and one digest.

:class:`SignedSerializer` signs with the keys: :meth:`~SignedSerializer.sign` /
:meth:`~SignedSerializer.unsign` sign short ASCII values as they are (a session id);
:meth:`~SignedSerializer.dumps` / :meth:`~SignedSerializer.loads` carry text: URL-safe base64
of its UTF-8, or, for texts of 256 bytes and more when zlib makes them shorter, ``.`` + base64
of the deflated bytes (a session cookie is rarely that long, and below that zlib does not
pay). Tokens of the earlier timestamped format (``payload.timestamp.signature``, same keys)
still verify: the timestamp is dropped, expiry is checked from the times inside the record.

Keys are given newest first: the first signs, every one verifies (compared in constant time),
and the index of the one that matched is returned so a value signed with an old key can be
signed again.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import zlib
from typing import Any

from itsdangerous import BadData, BadSignature, Signer
from itsdangerous.encoding import want_bytes

try:  # OpenSSL's HMAC object: copy(), update() and digest() are C calls (hmac.HMAC wraps it)
    from _hashlib import hmac_new as _keyed_hmac
except ImportError:  # pragma: no cover - CPython without OpenSSL, other interpreters
    _keyed_hmac = hmac.new  # type: ignore[assignment]  # the same call, in Python

__all__ = ["BadData", "Codec", "KeySigner", "SignedSerializer"]

#: texts shorter than this are not worth a zlib attempt (a session cookie rarely is)
_COMPRESS_FROM = 256
#: a compressed payload may not inflate beyond this (the cookie limit times a generous ratio)
_MAX_INFLATED = 1 << 20
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")
_b2a = binascii.b2a_base64
_a2b = binascii.a2b_base64


def _b64encode(raw: bytes) -> bytes:
    """URL-safe base64 without padding (what itsdangerous's ``base64_encode`` makes)."""
    return _b2a(raw, newline=False).translate(_TO_URLSAFE).rstrip(b"=")


def _b64decode(text: bytes) -> bytes:
    """The inverse of :func:`_b64encode`; raises ``binascii.Error`` (a ``ValueError``)."""
    return _a2b(text.translate(_FROM_URLSAFE) + b"=" * (-len(text) % 4))


class KeySigner(Signer):
    """An itsdangerous :class:`~itsdangerous.Signer` for one secret, its key derived once.

    The key is itsdangerous's ``"hmac"`` derivation of the secret with the salt (SHA-256),
    computed here at construction instead of on every call, and kept as a keyed HMAC-SHA256
    object: :meth:`get_signature` copies it, so no key setup happens per signature.
    ``sign``, ``unsign`` and ``verify_signature`` are itsdangerous's own.

    Usage::

        signer = KeySigner("secret", salt="middleware.sessions.id")
        signer.unsign(signer.sign(b"value"))   # b'value'
    """

    def __init__(self, secret_key: str | bytes, salt: str) -> None:
        super().__init__(secret_key, salt=salt, key_derivation="hmac",
                         digest_method=hashlib.sha256)
        self._derived = super().derive_key()
        self._mac: Any = _keyed_hmac(self._derived, digestmod="sha256")

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        """The derived key (this signer has one secret: derived once, at construction)."""
        return self._derived

    def get_signature(self, value: str | bytes) -> bytes:
        """URL-safe base64 of HMAC-SHA256(derived key, ``value``)."""
        return self.signature(want_bytes(value))

    def signature(self, value: bytes) -> bytes:
        """:meth:`get_signature` of bytes (the serializer's calls: no conversion)."""
        mac = self._mac.copy()
        mac.update(value)
        # a SHA-256 digest is 32 bytes: its base64 is 43 characters and one "=" of padding
        return _b2a(mac.digest(), newline=False)[:43].translate(_TO_URLSAFE)


class SignedSerializer:
    """Sign and verify values with a list of keys (newest first).

    :param keys: the secrets, newest first; none may be empty.
    :param salt: separates tokens made for different purposes with the same keys.
    :param compress: let :meth:`dumps` deflate texts of 256 bytes and more.

    Usage::

        codec = SignedSerializer(["new key", "old key"], salt="middleware.sessions.cookie")
        token = codec.dumps('{"user":"alice"}')
        codec.loads(token)   # ('{"user":"alice"}', 0)
    """

    def __init__(self, keys: list[str | bytes], salt: str, compress: bool = True) -> None:
        self.salt = salt
        self.compress = compress
        self._signers = [KeySigner(key, salt) for key in keys]
        self._sign = self._signers[0].signature

    @property
    def key_count(self) -> int:
        """How many keys verify (the first one signs)."""
        return len(self._signers)

    def sign(self, value: str) -> str:
        """``value`` (ASCII, no ``.``) with its signature, by the newest key."""
        data = value.encode("ascii")
        return (data + b"." + self._sign(data)).decode("ascii")

    def unsign(self, token: str) -> tuple[str, int]:
        """``(value, index of the key that signed it)``; raises :class:`BadData`."""
        value, index = self._verify(token)
        return value.decode("ascii"), index

    def dumps(self, text: str) -> str:
        """A signed token carrying ``text`` (signed with the newest key)."""
        raw = text.encode("utf-8")
        if self.compress and len(raw) >= _COMPRESS_FROM:
            packed = zlib.compress(raw, 6)
            if len(packed) < len(raw) - 1:
                payload = b"." + _b64encode(packed)
                return (payload + b"." + self._sign(payload)).decode("ascii")
        payload = _b64encode(raw)
        return (payload + b"." + self._sign(payload)).decode("ascii")

    def loads(self, token: str) -> tuple[str, int]:
        """``(text, index of the key that signed it)``; raises :class:`BadData`."""
        payload, index = self._verify(token)
        compressed = payload[:1] == b"."
        if compressed:
            payload = payload[1:]
        # the earlier timestamped format: "<payload>.<timestamp>" (base64 has no ".")
        payload = payload.partition(b".")[0]
        try:
            raw = _b64decode(payload)
            if compressed:
                inflater = zlib.decompressobj()
                raw = inflater.decompress(raw, _MAX_INFLATED)
                if inflater.unconsumed_tail:
                    raise ValueError("compressed payload too large")
            return raw.decode("utf-8"), index
        except (ValueError, zlib.error) as exc:
            raise BadData(f"undecodable payload: {exc}") from exc

    def _verify(self, token: str) -> tuple[bytes, int]:
        """The signed part of ``token`` as bytes, and the index of the key that signed it."""
        try:
            data = token.encode("ascii")
        except UnicodeEncodeError:
            raise BadSignature("not an ASCII token") from None
        value, dot, signature = data.rpartition(b".")
        if dot:
            # compared, in constant time, as the base64 text the signer makes: the client's
            # bytes are never decoded; the newest key first, without a loop (the usual case)
            if hmac.compare_digest(self._sign(value), signature):
                return value, 0
            for index, signer in enumerate(self._signers[1:], 1):
                if hmac.compare_digest(signer.signature(value), signature):
                    return value, index
        raise BadSignature("signature does not match any key")


#: the earlier name of :class:`SignedSerializer` (it read like an encoding, not a signature)
Codec = SignedSerializer
