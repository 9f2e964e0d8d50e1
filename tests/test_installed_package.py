"""The package as a user installs it: ``pip install .`` (not editable, no extras) into a fresh
virtualenv, then the ini tools run from a folder that is not the checkout.

The demo's ini (``recipes/demo/demo.ini``, copied alone) must load from the installed package:
``python -m middleware check`` prints its layers and reaches its SQLite store, ``python -m
middleware serve`` and ``gunicorn --paste`` serve it, and the ``wsgi-middleware-adduser``
script writes the login. pip's cache makes the install take seconds after the first run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import venv
from pathlib import Path

import pytest

from recipe_support import RECIPES, ROOT, check_demo_stack, copy_sources, free_port
from servers import run_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh virtualenv with ``pip install .`` and gunicorn; returns its ``bin`` folder."""
    home = tmp_path_factory.mktemp("user-venv")
    # a copy of the sources, as in a release: the build never writes into the checkout
    source = copy_sources(tmp_path_factory.mktemp("source"))
    venv.EnvBuilder(with_pip=True).create(home)
    bin_dir = home / "bin"
    proc = subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet",
                           "--disable-pip-version-check", str(source), "gunicorn"],
                          cwd=home, env=user_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return bin_dir


def user_env() -> dict[str, str]:
    """The environment of a user's shell: nothing pointing into the checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if not p.startswith(str(ROOT)))
    return env


@pytest.fixture
def site(tmp_path, installed):
    """A folder holding only a copy of the demo ini and a login made with the installed script."""
    shutil.copy(RECIPES / "demo" / "demo.ini", tmp_path / "demo.ini")
    proc = subprocess.run([str(installed / "wsgi-middleware-adduser"), "var/users.htpasswd",
                           "alice", "--password-stdin", "--rounds", "4"],
                          input="correct horse battery staple\n", cwd=tmp_path, env=user_env(),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return tmp_path


def test_the_installed_package_is_not_the_checkout_and_has_no_extras(installed, tmp_path):
    code = ("import middleware, importlib.util as u; print(middleware.__file__); "
            "print(u.find_spec('zstandard') is None, u.find_spec('redis') is None, "
            "u.find_spec('recipes') is None)")
    proc = subprocess.run([str(installed / "python"), "-c", code], cwd=tmp_path,
                          env=user_env(), capture_output=True, text=True, timeout=60)
    location, extras_absent = proc.stdout.splitlines()
    assert location.startswith(str(installed.parent)) and "site-packages" in location
    assert extras_absent == "True True True"


def test_check_loads_the_ini_and_reaches_its_store(installed, site):
    proc = subprocess.run([str(installed / "python"), "-m", "middleware", "check", "demo.ini"],
                          cwd=site, env=user_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    for layer in ("errors(", "compression(", "session(", "auth(", ") -> application"):
        assert layer in proc.stdout, proc.stdout
    assert f"session store {site / 'var' / 'sessions.db'}: ok" in proc.stdout


def test_serve_from_the_installed_package(installed, site):
    port = free_port()
    args = [str(installed / "python"), "-m", "middleware", "serve", "demo.ini", "--port", str(port)]
    with run_server(args, port, log_path=site / "serve.log", env=user_env(), cwd=site) as server:
        check_demo_stack(server.url)


def test_gunicorn_paste_from_the_installed_package(installed, site):
    port = free_port()
    args = [str(installed / "gunicorn"), "--paste", "demo.ini", "--bind", f"127.0.0.1:{port}",
            "--workers", "2"]
    with run_server(args, port, log_path=site / "gunicorn.log", env=user_env(),
                    cwd=site) as server:
        check_demo_stack(server.url)
