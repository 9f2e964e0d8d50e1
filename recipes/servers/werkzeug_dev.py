"""Serve the stack with werkzeug's development server: ``python -m recipes.servers.werkzeug_dev``.

For your own machine only (single process, no hardening). ``--reload`` restarts the process
when a Python file changes. The stack's error pages stay on: use the ``debug`` layer of
``recipes/ini/development.ini`` for tracebacks, never werkzeug's ``use_debugger`` on a server
someone else can reach.
"""

from __future__ import annotations

import argparse

from werkzeug.serving import run_simple


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m recipes.servers.werkzeug_dev",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--reload", action="store_true")
    args = parser.parse_args(argv)
    from recipes.servers.stack import application

    run_simple(args.host, args.port, application, threaded=True, use_reloader=args.reload)


if __name__ == "__main__":
    main()
