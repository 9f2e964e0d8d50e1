"""recipes/modwsgi: the stack under Apache with Debian's mod_wsgi, in daemon mode, 2 processes.

Started as the README says: Debian's ``apache2 -DFOREGROUND -f recipes/modwsgi/apache.conf``
on a free port, the daemon processes running as an unprivileged account (``nobody`` when the
suite runs as root), the app in a virtualenv made with Debian's ``/usr/bin/python3`` (the
Python that ``libapache2-mod-wsgi-py3`` embeds) into which the package is ``pip install``-ed.
Checked end to end: compression, a session across requests and both processes, Basic auth
(which needs ``WSGIPassAuthorization On``), the error page.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from recipe_support import (
    RECIPES,
    basic,
    check_auth,
    check_compression,
    check_error_page,
    check_session,
    copy_sources,
    free_port,
    get,
    tool,
    write_htpasswd,
)
from servers import Running, run_server

pytestmark = pytest.mark.slow

MODWSGI = RECIPES / "modwsgi"
MODULE = Path("/usr/lib/apache2/modules/mod_wsgi.so")
DEBIAN_PYTHON = "/usr/bin/python3"
REALM = "mod_wsgi"


def run_account() -> tuple[str, str]:
    """The daemon processes' user and group: never root (Apache refuses), else ourselves."""
    if os.geteuid() == 0:
        return "nobody", "nogroup"
    return pwd.getpwuid(os.geteuid()).pw_name, grp.getgrgid(os.getegid()).gr_name


@pytest.fixture(scope="module")
def deployment() -> Iterator[Path]:
    """A world-readable folder (the daemon user must read it) with the Debian-Python venv."""
    assert MODULE.exists(), "libapache2-mod-wsgi-py3 is not installed (make system-deps)"
    root = Path(tempfile.mkdtemp(prefix="modwsgi-"))
    try:
        root.chmod(0o755)
        subprocess.run([DEBIAN_PYTHON, "-m", "venv", "--without-pip", str(root / "venv")],
                       check=True, timeout=120)
        # our pip installs into the Debian Python's venv: the same wheels a user's pip fetches
        proc = subprocess.run([sys.executable, "-m", "pip", "--python",
                               str(root / "venv" / "bin" / "python"), "install", "--quiet",
                               "--disable-pip-version-check", str(copy_sources(root / "source"))],
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def apache(deployment: Path, conf: Path, name: str) -> Iterator[Running]:
    """Apache on a free port, serving a fresh site folder (app.wsgi, site.ini, var/)."""
    user, group = run_account()
    site = deployment / name
    (site / "var").mkdir(parents=True)
    for file in ("app.wsgi", "site.ini"):
        shutil.copy(MODWSGI / file, site / file)
    write_htpasswd(site / "var" / "users.htpasswd")
    (deployment / f"{name}-apache").mkdir()
    shutil.chown(site / "var", user, group)
    for path in (site, *site.rglob("*")):
        path.chmod(path.stat().st_mode | 0o444 | (0o111 if path.is_dir() else 0))
    port = free_port()
    env = {"APACHE_ROOT": str(deployment / f"{name}-apache"), "SITE": str(site),
           "VENV": str(deployment / "venv"), "PORT": str(port), "RUN_USER": user,
           "RUN_GROUP": group, "SESSION_SECRET": "modwsgi-recipe-secret-" + "m" * 24}
    args = [tool("apache2"), "-DFOREGROUND", "-f", str(conf)]
    with run_server(args, port, log_path=deployment / f"{name}.log", env=env) as server:
        yield server


def page_values(response: requests.Response) -> tuple[int, int]:
    """The demo page's visit counter and the id of the process that served it."""
    visits = re.search(r'id="visits">(\d+)<', response.text)
    process = re.search(r'id="process">(\d+)<', response.text)
    assert visits and process, response.text[:500]
    return int(visits.group(1)), int(process.group(1))


def test_apache_mod_wsgi_daemon_mode_serves_the_stack(deployment):
    with apache(deployment, MODWSGI / "apache.conf", "site") as server:
        base = server.url
        check_compression(base + "/", "wsgi-middleware-suite demo")
        check_compression(base + "/api", '"items"')
        check_session(base + "/", "session")
        check_auth(base + "/private", REALM)
        check_error_page(base + "/boom",
                         leaks=("Traceback", "must-never-be-shown", "RuntimeError"))

        # one session, served in turn by both daemon processes, never losing a visit
        browser = requests.Session()
        seen: list[tuple[int, int]] = []
        while len({process for _, process in seen}) < 2 and len(seen) < 60:
            seen.append(page_values(get(base + "/", browser)))
        processes = {process for _, process in seen}
        assert len(processes) == 2, seen
        assert [visits for visits, _ in seen] == list(range(1, len(seen) + 1)), seen
        user, _ = run_account()
        for process in processes:
            status = Path(f"/proc/{process}/status").read_text()
            uid = int(re.search(r"^Uid:\s+(\d+)", status, re.M).group(1))
            assert uid == pwd.getpwnam(user).pw_uid, (process, uid)
        # the app's exception is in Apache's error log, with the id the page showed
        request_id = get(base + "/boom").headers["X-Request-ID"]
    assert request_id in server.log() and "[middleware.errors]" in server.log()


def test_without_wsgi_pass_authorization_no_login_can_succeed(deployment):
    conf = deployment / "no-pass-authorization.conf"
    text = (MODWSGI / "apache.conf").read_text()
    assert "\nWSGIPassAuthorization On\n" in text
    conf.write_text(text.replace("\nWSGIPassAuthorization On\n", "\n"))
    with apache(deployment, conf, "no-pass") as server:
        refused = get(server.url + "/private", headers=basic())
        assert refused.status_code == 401
