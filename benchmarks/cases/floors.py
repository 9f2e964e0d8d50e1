"""The floors: the raw primitive a middleware wraps, on the same bytes, with no WSGI at all.

A floor row is the best any middleware could do for that job, so the interesting number for a
compressing or signing middleware is how far above its floor it lands:

* ``floor.{gzip,br,zstd}.{2k,100k}``: one-shot compression of the page at the levels every row
  uses (gzip 6 with a gzip header, brotli quality 4, zstd level 3 with a compressor built once);
* ``floor.itsdangerous``: ``URLSafeTimedSerializer`` loads + dumps of the small session dict
  (what a signed-cookie session must do per read+write request);
* ``floor.hmac``: the same with lean JSON + base64 + HMAC-SHA256 and the key derived once;
* ``floor.bcrypt``: one ``bcrypt.checkpw`` at cost 5, the price of Basic auth without a cache.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json

from benchmarks.cases import Case
from benchmarks.cases.ours import SIZES
from benchmarks.cases.stacks import BCRYPT_COST
from benchmarks.cases.workload import PASSWORD, SECRET, OneRequest


def gzip_floor(size: str) -> OneRequest:
    body = SIZES[size]
    assert gzip.decompress(gzip.compress(body, 6, mtime=0)) == body

    def compress() -> None:
        gzip.compress(body, 6, mtime=0)

    return compress


def brotli_floor(size: str) -> OneRequest:
    import brotli

    body = SIZES[size]
    assert brotli.decompress(brotli.compress(body, quality=4)) == body

    def compress() -> None:
        brotli.compress(body, quality=4)

    return compress


def zstd_floor(size: str) -> OneRequest:
    import zstandard

    body = SIZES[size]
    compressor = zstandard.ZstdCompressor(level=3)
    assert zstandard.ZstdDecompressor().decompress(compressor.compress(body)) == body

    def compress() -> None:
        compressor.compress(body)

    return compress


def itsdangerous_floor() -> OneRequest:
    from itsdangerous import URLSafeTimedSerializer

    serializer = URLSafeTimedSerializer(SECRET)
    token = serializer.dumps({"n": 1})

    def round_trip() -> None:
        data = serializer.loads(token, max_age=1209600)
        data["n"] += 1
        serializer.dumps(data)

    round_trip()
    return round_trip


def hmac_floor() -> OneRequest:
    key = hashlib.sha256(b"session-signing:" + SECRET.encode()).digest()

    def sign(data: dict) -> bytes:
        payload = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode())
        return payload + b"." + base64.urlsafe_b64encode(hmac.digest(key, payload, "sha256"))

    def unsign(token: bytes) -> dict:
        payload, _, signature = token.rpartition(b".")
        expected = base64.urlsafe_b64encode(hmac.digest(key, payload, "sha256"))
        if not hmac.compare_digest(signature, expected):
            raise ValueError("bad signature")
        return json.loads(base64.urlsafe_b64decode(payload))

    token = sign({"n": 1})

    def round_trip() -> None:
        data = unsign(token)
        data["n"] += 1
        sign(data)

    round_trip()
    return round_trip


def bcrypt_floor() -> OneRequest:
    import bcrypt

    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(BCRYPT_COST))
    password = PASSWORD.encode()
    assert bcrypt.checkpw(password, hashed)

    def verify() -> None:
        bcrypt.checkpw(password, hashed)

    return verify


_COMPRESSORS = {"gzip": (gzip_floor, "gzip 6"), "br": (brotli_floor, "brotli q4"),
                "zstd": (zstd_floor, "zstd 3")}


def _compression_floors() -> list[Case]:
    cases = []
    for size, section in (("2k", "compression 2 KB"), ("100k", "compression 100 KB")):
        for encoding, (build, name) in _COMPRESSORS.items():
            cases.append(Case(f"floor.{encoding}.{size}", section,
                              f"FLOOR raw {name}, {size.upper().replace('K', ' KB')}", "floor",
                              lambda b=build, s=size: b(s)))
    return cases


CASES = [
    Case("floor.itsdangerous", "sessions", "FLOOR itsdangerous loads+dumps, small dict", "floor",
         itsdangerous_floor),
    Case("floor.hmac", "sessions", "FLOOR lean JSON+base64+HMAC-SHA256 verify+sign", "floor",
         hmac_floor),
    Case("floor.bcrypt", "auth", "FLOOR bcrypt.checkpw, cost 5 (no cache)", "floor",
         bcrypt_floor),
    *_compression_floors(),
]
