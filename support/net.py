"""The loopback address every server binds, and a free port on it.

Usage::

    from support.net import HOST, free_port

    port = free_port()
    server = make_server(HOST, port, app)
"""

from __future__ import annotations

import socket

#: every server the tests, benchmarks and soak start binds here, never another interface
HOST = "127.0.0.1"


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def accepts(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:``port``."""
    with socket.socket() as sock:
        return sock.connect_ex((HOST, port)) == 0
