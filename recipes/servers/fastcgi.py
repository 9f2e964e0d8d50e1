"""Serve the stack over FastCGI with flup: ``python -m recipes.servers.fastcgi --socket PATH``.

A front web server (lighttpd, nginx, Apache ``mod_proxy_fcgi``) speaks HTTP to clients and
FastCGI to this process over a Unix socket (``--socket``) or TCP (``--port``);
``lighttpd-fastcgi.conf`` beside this file is a working front. flup runs each request in a
thread of this one process, so the in-process ``memory`` session store would work here, but the
default SQLite store also survives restarts.
"""

from __future__ import annotations

import argparse
import os

from flup.server.fcgi import WSGIServer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m recipes.servers.fastcgi",
                                     description=__doc__.split("\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--socket", help="path of the Unix socket to listen on")
    where.add_argument("--port", type=int, help="TCP port to listen on (with --host)")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    from recipes.servers.stack import application

    if args.socket:
        if os.path.exists(args.socket):
            os.unlink(args.socket)
        address = args.socket
    else:
        address = (args.host, args.port)
    WSGIServer(application, bindAddress=address, umask=0o077).run()


if __name__ == "__main__":
    main()
