"""The codec libraries the compression layer falls back to where the usual ones cannot install.

``brotli`` does not build on PyPy: ``brotlicffi`` (same API through CFFI) stands in, for
responses and for compressed request bodies. Without ``zstandard``, responses use the standard
library's ``compression.zstd`` (Python 3.14+); on older Pythons its backport
``backports.zstd`` has the same API and stands in for it here.

Each case runs in a fresh interpreter where the preferred library cannot be imported
(``sys.modules[name] = None``), so the module-level selection really takes the fallback.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

# The checking side decodes with the fallback libraries themselves (they are test extras).
PRELUDE = textwrap.dedent("""
    def _decode_br(data):
        import brotlicffi
        return brotlicffi.decompress(data)

    def _decode_zstd(data):
        from backports import zstd
        return zstd.decompress(data)

    DECODE = {"br": _decode_br, "zstd": _decode_zstd}
""")

BODY = textwrap.dedent("""
    import json, sys
    for name in BLOCKED:
        sys.modules[name] = None
    from werkzeug.test import Client
    from middleware import CompressionMiddleware
    from middleware.compression import encoders

    def app(environ, start_response):
        data = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        if environ["PATH_INFO"] == "/stream":
            return (b"chunk %d " % i * 50 for i in range(5))
        return [data or b"hello world " * 200]

    client = Client(CompressionMiddleware(app, decompress_requests=True))
    report = {"brotli": encoders.brotli.__name__,
              "zstandard": encoders.zstandard is not None,
              "stdlib_zstd": getattr(encoders.stdlib_zstd, "__name__", None),
              "available": list(encoders.available())}
    for coding in ("br", "zstd"):
        for path in ("/", "/stream"):
            response = client.get(path, headers={"Accept-Encoding": coding})
            report[coding + path] = response.headers.get("Content-Encoding")
            report[coding + path + " body"] = DECODE[coding](response.get_data())[:12].decode()
    sent = encoders.brotli.compress(b"posted body " * 100)
    response = client.post("/", data=sent, headers={"Content-Encoding": "br"})
    report["br request"] = response.get_data()[:12].decode()
    print(json.dumps(report))
""")


def run(blocked: tuple[str, ...]) -> dict:
    """Run the probe with the ``blocked`` modules unimportable; return its report."""
    script = f"BLOCKED = {blocked!r}\n" + PRELUDE + BODY
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_brotlicffi_stands_in_for_brotli_responses_and_request_bodies():
    report = run(("brotli",))
    assert report["brotli"] == "brotlicffi"
    assert report["br/"] == "br" and report["br/stream"] == "br"
    assert report["br/ body"] == "hello world " and report["br/stream body"] == "chunk 0 chun"
    assert report["br request"] == "posted body "


def test_the_standard_library_zstd_stands_in_for_zstandard_in_responses():
    report = run(("zstandard",))
    assert report["zstandard"] is False
    assert report["stdlib_zstd"] in ("compression.zstd", "backports.zstd")
    assert "zstd" in report["available"]
    assert report["zstd/"] == "zstd" and report["zstd/stream"] == "zstd"
    assert report["zstd/ body"] == "hello world " and report["zstd/stream body"] == "chunk 0 chun"


def test_both_fallbacks_together():
    report = run(("brotli", "zstandard"))
    assert report["brotli"] == "brotlicffi" and report["zstd/"] == "zstd"
