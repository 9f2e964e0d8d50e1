"""Serve or check a PasteDeploy ini: ``python -m middleware serve FILE.ini``.

A small front end for development and simple deployments. It loads the ini through PasteDeploy
(exactly as ``gunicorn --paste FILE.ini`` does), configures logging from the file's
``[loggers]`` sections when it has them, and serves the app with werkzeug's threaded server.
``--reload`` restarts the process when a Python file or the ini changes.

For production, prefer a production server on the same file::

    gunicorn --paste production.ini --bind 127.0.0.1:8000 --workers 2 --preload

``check`` loads the file, prints the layers outermost first (secrets masked), then reaches
every store the layers use (session stores, a Redis login throttle) and prints one line each.
Exit status: 0 when all is well, 2 for a configuration error, 3 when a store is unreachable
(``--offline`` skips the stores), so a bad deployment fails before a socket is bound.
"""

from __future__ import annotations

import argparse
import logging
import logging.config
import os
import sys
from configparser import ConfigParser

from middleware.pipeline import Pipeline

log = logging.getLogger("middleware.serve")


def setup_logging(path: str) -> None:
    """Configure logging from the ini's ``[loggers]`` sections, else log INFO to stderr."""
    parser = ConfigParser()
    parser.read(path)
    if parser.has_section("loggers"):
        here = os.path.dirname(os.path.abspath(path))
        logging.config.fileConfig(path, defaults={"here": here, "__file__": path},
                                  disable_existing_loggers=False)
    else:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def load(path: str, name: str = "main") -> Pipeline:
    """Load ``[pipeline:NAME]`` (or ``[app:NAME]``) from ``path`` as a :class:`Pipeline`."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such ini file: {path}")
    return Pipeline.from_ini(path, name)


def serve(path: str, host: str = "127.0.0.1", port: int = 8000, name: str = "main",
          reload: bool = False) -> None:
    """Serve the ini's app on ``host:port`` until interrupted."""
    from werkzeug.serving import run_simple

    setup_logging(path)
    app = load(path, name).wrap()
    if os.environ.get("WERKZEUG_RUN_MAIN") != "true":
        print(f"Serving {path} on http://{host}:{port}/ (Ctrl+C to stop)", flush=True)
    run_simple(host, port, app, use_reloader=reload, threaded=True,
               extra_files=[os.path.abspath(path)] if reload else None)


def check(path: str, name: str = "main", connect: bool = True) -> int:
    """Print the layers of the ini's pipeline and reach its stores; return an exit status."""
    from middleware.connectivity import probe_stores

    pipeline = load(path, name)
    print(pipeline)
    if not connect:
        return 0
    status = 0
    for probe in probe_stores(pipeline):
        if probe.ok:
            print(probe)
        else:
            print(f"error: {probe}", file=sys.stderr)
            status = 3
    return status


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m middleware`` and the ``wsgi-middleware`` script."""
    parser = argparse.ArgumentParser(prog="python -m middleware", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="serve a PasteDeploy ini")
    serve_cmd.add_argument("ini")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=8000)
    serve_cmd.add_argument("--name", default="main", help="the pipeline or app section name")
    serve_cmd.add_argument("--reload", action="store_true", help="restart when code changes")
    check_cmd = commands.add_parser("check", help="load an ini and print its layers")
    check_cmd.add_argument("ini")
    check_cmd.add_argument("--name", default="main")
    check_cmd.add_argument("--offline", action="store_true",
                           help="do not connect to the stores (Redis, SQLite)")
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            return check(args.ini, args.name, connect=not args.offline)
        serve(args.ini, args.host, args.port, args.name, args.reload)
    except (ValueError, LookupError, FileNotFoundError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0
