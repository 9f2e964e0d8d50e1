"""The full stacks, ours and the peers', shared by the micro, memory and end-to-end phases.

Both stacks do the same four jobs in the same order (outermost first): error pages, gzip,
a signed-cookie session read and written on every request, and HTTP Basic against an htpasswd
file with one user. The peers' stack is what a user would assemble without us: Paste's
``ErrorMiddleware`` and ``gzipper``, Beaker's cookie session, repoze.who with its Basic and
htpasswd plugins.

The files both stacks read live in one :func:`workdir` per process (a temporary directory
removed at exit), or in ``$BENCH_WORKDIR`` when the end-to-end phase prepared them for a server.
"""

from __future__ import annotations

import atexit
import base64
import hashlib
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.cases.workload import (
    BODY_2K,
    PASSWORD,
    SECRET,
    USER,
    NullWriter,
    WSGIApp,
    session_app,
)

BCRYPT_COST = 5  # Apache's default for ``htpasswd -B``
_workdir: Path | None = None


def workdir() -> Path:
    """The directory holding the htpasswd files and session stores for this process."""
    global _workdir
    if _workdir is None:
        configured = os.environ.get("BENCH_WORKDIR")
        if configured:
            _workdir = Path(configured)
        else:
            _workdir = Path(tempfile.mkdtemp(prefix="bench-"))
            atexit.register(shutil.rmtree, _workdir, True)
    return _workdir


def bcrypt_htpasswd(users: int) -> Path:
    """An htpasswd file of ``users`` bcrypt entries (cost 5, ``$2y$`` as Apache writes them).

    The benchmark user is the last line, the worst place for a file scan.
    """
    path = workdir() / f"bcrypt-{users}.htpasswd"
    if not path.exists():
        import bcrypt

        lines = []
        for i in range(users):
            name = USER if i == users - 1 else f"user{i:03d}"
            hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(BCRYPT_COST)).decode()
            lines.append(f"{name}:$2y${hashed[4:]}\n")
        _write_atomically(path, "".join(lines))
    return path


def sha1_htpasswd(users: int) -> Path:
    """An htpasswd file of ``users`` ``{SHA}`` entries: the format repoze.who checks fastest."""
    path = workdir() / f"sha1-{users}.htpasswd"
    if not path.exists():
        lines = []
        for i in range(users):
            name = USER if i == users - 1 else f"user{i:03d}"
            digest = base64.b64encode(hashlib.sha1(PASSWORD.encode()).digest()).decode()
            lines.append(f"{name}:{{SHA}}{digest}\n")
        _write_atomically(path, "".join(lines))
    return path


def _write_atomically(path: Path, text: str) -> None:
    """Write via a rename, so a server worker never reads half a file."""
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def quiet_logger(name: str = "benchmarks.errors") -> logging.Logger:
    """A logger that formats every record (as a real one would) and writes it nowhere."""
    logger = logging.getLogger(name)
    if not logger.handlers:
        logger.addHandler(logging.StreamHandler(NullWriter()))  # type: ignore[arg-type]
        logger.propagate = False
        logger.setLevel(logging.INFO)
    return logger


def ours_stack(body: bytes = BODY_2K, app: WSGIApp | None = None) -> WSGIApp:
    """Our full stack: errors, compression, a signed-cookie session, Basic auth (1 user)."""
    from middleware import (
        AuthMiddleware,
        BasicAuth,
        CompressionMiddleware,
        ErrorPageMiddleware,
        Pipeline,
        SessionMiddleware,
    )

    inner = app or session_app("middleware.session", body=body)
    return (Pipeline()
            .use(ErrorPageMiddleware, logger=quiet_logger())
            .use(CompressionMiddleware, min_size=500)
            .use(SessionMiddleware, secret_key=SECRET)
            .use(AuthMiddleware, backends=[BasicAuth(htpasswd=str(bcrypt_htpasswd(1)))])
            .wrap(inner))


def peer_stack(body: bytes = BODY_2K, app: WSGIApp | None = None) -> WSGIApp:
    """The peers' full stack: Paste errors and gzip, Beaker cookie session, repoze.who Basic."""
    from beaker.middleware import SessionMiddleware as BeakerSessionMiddleware
    from paste.exceptions.errormiddleware import ErrorMiddleware
    from paste.gzipper import middleware as PasteGzipMiddleware

    inner = app or session_app("beaker.session", save=True, body=body)
    authenticated = repoze_who(inner, sha1_htpasswd(1))
    sessions = BeakerSessionMiddleware(authenticated, beaker_config("cookie"))
    return ErrorMiddleware(PasteGzipMiddleware(sessions, compress_level=6), {}, debug=False)


def beaker_config(session_type: str, signed_id: bool = False) -> dict[str, Any]:
    """Beaker options for a session ``type``: "cookie" (signed), "memory", "file" or "redis".

    ``signed_id`` adds ``session.secret``, so a server-side session's id cookie is signed as
    ours always is (Beaker's default leaves it unsigned).
    """
    config: dict[str, Any] = {"session.type": session_type, "session.key": "beaker"}
    if signed_id:
        config["session.secret"] = SECRET
    if session_type == "cookie":
        config["session.validate_key"] = SECRET
    if session_type == "redis":
        from benchmarks.cases.redis_server import redis_url

        config.update({"session.type": "ext:redis", "session.url": redis_url()})
    if session_type == "file":
        config["session.data_dir"] = str(workdir() / "beaker")
        config["session.lock_dir"] = str(workdir() / "beaker-locks")
    return config


def repoze_who(app: WSGIApp, htpasswd: Path) -> WSGIApp:
    """repoze.who with its Basic identifier/challenger and htpasswd authenticator."""
    from repoze.who.classifiers import default_challenge_decider, default_request_classifier
    from repoze.who.middleware import PluggableAuthenticationMiddleware
    from repoze.who.plugins.basicauth import BasicAuthPlugin
    from repoze.who.plugins.htpasswd import HTPasswdPlugin

    basic = BasicAuthPlugin("Restricted")
    return PluggableAuthenticationMiddleware(
        app,
        identifiers=[("basic", basic)],
        authenticators=[("htpasswd", HTPasswdPlugin(str(htpasswd), _sha1_check))],
        challengers=[("basic", basic)],
        mdproviders=[],
        request_classifier=default_request_classifier,
        challenge_decider=default_challenge_decider,
    )


def _sha1_check(password: str, hashed: str) -> bool:
    """repoze.who's ``sha1_check`` on a text-mode file: it compares ``str`` with ``bytes`` and
    always fails (repoze.who 3.2.0), so hand it the line as bytes."""
    from repoze.who.plugins.htpasswd import sha1_check

    return sha1_check(password, hashed.encode())
