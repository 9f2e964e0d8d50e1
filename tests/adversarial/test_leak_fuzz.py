"""Issue 14's leak classes, fuzzed: request data in log lines, non-ASCII console input, secrets
in any case on every way out, and compressed request bodies of any size.

* Any method, path, query, Host or exception text with control characters: no log record of
  the error pages or debug layers contains a raw CR, ESC or other control character, and no
  line of a record starts with text the client chose.
* Any cookie, PIN, token or frame value sent to the debug console (any Unicode, any latin-1
  byte): a 2xx/4xx JSON answer, never an exception.
* Any secret-named environ key, in any case, with any value: the ``notify`` hook never sees
  the value; a URL password in any value is masked.
* Any valid body of up to ~400 KB in every coding reaches the app exactly, every decoding step
  is at most 64 KiB.
"""

from __future__ import annotations

import io
import logging
import random
from urllib.parse import urlencode

from fuzz_checks import check, encode, fuzzed
from hypothesis import given
from hypothesis import strategies as st

from middleware import DebugMiddleware, ErrorPageMiddleware
from middleware.compression import CompressionMiddleware
from middleware.compression.request_body import STEP, decode_chunks

MARK = "FORGED-LINE"
CONTROL = st.text(st.characters(min_codepoint=0, max_codepoint=0x2029,
                                whitelist_categories=("Cc", "Zl", "Zp", "Ll", "Lu")),
                  max_size=40)
LATIN1 = st.text(st.characters(min_codepoint=1, max_codepoint=255), max_size=60)
UNICODE = st.text(max_size=40)


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def capture(name: str) -> tuple[logging.Logger, Lines]:
    logger = logging.getLogger(f"tests.adversarial.leak.{name}")
    logger.propagate = False
    logger.handlers[:] = []
    lines = Lines()
    logger.addHandler(lines)
    logger.setLevel(logging.DEBUG)
    return logger, lines


ERRORS, ERROR_LINES = capture("errors")
DEBUG, DEBUG_LINES = capture("debug")


def raising(message: str):
    def make(tracker):
        def app(environ, start_response):
            raise RuntimeError(message)
        return app
    return make


@given(prefix=CONTROL, where=st.sampled_from(["path", "query", "host", "message"]),
       layer=st.sampled_from(["errors", "debug"]),
       client=st.sampled_from(["127.0.0.1", "203.0.113.7"]))
def test_request_data_never_forges_or_repaints_a_log_line(prefix, where, layer, client):
    fuzzed("logged request data")
    value = f"{prefix}\n{MARK}\r\n{MARK}\x1b[2J"
    environ = {"REMOTE_ADDR": client, "HTTP_ACCEPT": "text/plain"}
    message = "fails"
    if where == "path":
        environ["PATH_INFO"] = "/" + value
    elif where == "query":
        environ["QUERY_STRING"] = value
    elif where == "host":
        environ["HTTP_HOST"] = value
    else:
        message = value
    if layer == "errors":
        factory, lines = (lambda app: ErrorPageMiddleware(app, logger=ERRORS)), ERROR_LINES
    else:
        factory = lambda app: DebugMiddleware(app, logger=DEBUG, trusted_hosts=())  # noqa: E731
        lines = DEBUG_LINES
    lines.messages.clear()
    check(factory, raising(message), expect_5xx=True, **environ)
    assert lines.messages
    for text in lines.messages:
        assert "\r" not in text and "\x1b" not in text and "\x00" not in text
        assert not [line for line in text.splitlines() if line.startswith(MARK)], text


@given(cookie=st.one_of(LATIN1, UNICODE), field=st.sampled_from(["secret", "pin", "frame", "tb"]),
       value=st.one_of(LATIN1, UNICODE), action=st.sampled_from(["status", "pin", "console"]))
def test_any_console_cookie_or_field_gets_a_json_answer_never_an_exception(cookie, field, value,
                                                                           action):
    fuzzed("debug console cookie and fields")
    middleware = DebugMiddleware(lambda e, s: [], evalex=True, pin="123456789", logger=DEBUG)
    form = {"secret": middleware.console.token, "pin": "1", "frame": "0", "tb": "x", "cmd": "1"}
    form[field] = value
    body = urlencode(form, encoding="utf-8", errors="surrogatepass").encode("latin-1", "replace")
    raw_cookie = ("__debug_pin=" + cookie).encode("utf-8", "surrogatepass").decode("latin-1")
    result = check(lambda app: middleware, REMOTE_ADDR="127.0.0.1", REQUEST_METHOD="POST",
                   PATH_INFO=f"/__debug__/{action}", HTTP_HOST="127.0.0.1",
                   HTTP_COOKIE=raw_cookie, CONTENT_TYPE="application/x-www-form-urlencoded",
                   CONTENT_LENGTH=str(len(body)), **{"wsgi.input": io.BytesIO(body)})
    code = int(result.status[:3])
    assert code in (200, 401, 403, 404), result.status
    assert result.header("Content-Type") == "application/json"


SECRET_NAME = st.tuples(st.sampled_from(["", "DB_", "app.", "X_", "my_"]),
                        st.sampled_from(["password", "secret", "token", "api_key", "pin",
                                         "session", "private_key", "credentials", "dsn"]),
                        st.sampled_from(["", "_FILE_CONTENT", "2", ".value"]),
                        st.sampled_from([str.lower, str.upper, str.title, str.swapcase]))


# what a URL's user-info can hold unencoded ("/", "?" and "#" end it)
URL_SAFE = st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters="/?#")


@given(name=SECRET_NAME, value=st.text(URL_SAFE, min_size=8, max_size=40),
       url_key=st.sampled_from(["DATABASE_URL", "REDIS_URL", "app.cache", "HTTP_X_UPSTREAM"]))
def test_notify_never_sees_a_secret_in_any_case(name, value, url_key):
    fuzzed("environ secrets for notify")
    prefix, word, suffix, case = name
    key = case(prefix + word + suffix)
    seen = []
    url = f"redis://user:{value}@cache:6379/0"
    check(lambda app: ErrorPageMiddleware(app, logger=ERRORS,
                                          notify=lambda *a: seen.append(a[1])),
          raising("fails"), expect_5xx=True, **{key: value, url_key: url})
    [environ] = seen
    assert environ[key] == "[scrubbed]", key
    assert value not in str(environ[url_key]), url_key


def _text(seed: int, size: int) -> bytes:
    rng = random.Random(seed)
    words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz{}\":,") for _ in range(rng.randint(1, 10)))
             for _ in range(300)]
    return b" ".join(rng.choice(words) for _ in range(size // 5))[:size]


@given(seed=st.integers(0, 2**32), size=st.one_of(st.integers(0, 2000), st.integers(90_000, 400_000)),
       coding=st.sampled_from(["gzip", "deflate", "br", "zstd"]),
       shape=st.sampled_from(["text", "zeros", "random"]))
def test_any_valid_body_decodes_exactly_in_bounded_steps(seed, size, coding, shape):
    fuzzed("compressed request body (large)")
    data = {"text": lambda: _text(seed, size), "zeros": lambda: bytes(size),
            "random": lambda: random.Random(seed).randbytes(min(size, 100_000))}[shape]()
    encoded = encode(coding, data)
    total = []
    for chunk in decode_chunks(coding, io.BytesIO(encoded).read):
        assert len(chunk) <= STEP
        total.append(chunk)
    assert b"".join(total) == data

    def echo(environ, start_response):
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [str(body == data).encode()]
    app = CompressionMiddleware(echo, decompress_requests=True, max_decompressed_size=1 << 20)
    env = {"REQUEST_METHOD": "POST", "HTTP_CONTENT_ENCODING": coding,
           "CONTENT_LENGTH": str(len(encoded)), "wsgi.input": io.BytesIO(encoded),
           "HTTP_ACCEPT_ENCODING": "identity"}
    from harness import make_environ, serve

    result = serve(app, make_environ(**env))
    assert result.status.startswith("200") and result.body == b"True", (size, result.status)
