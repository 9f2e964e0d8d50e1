"""Add or replace a user in an htpasswd file: ``wsgi-middleware-adduser FILE USER``.

Also ``python -m middleware.adduser FILE USER``; both come with the installed package.

The password is read without echo (or from ``--password-stdin``) and stored as a bcrypt hash,
the format Apache's ``htpasswd -B`` writes and :class:`~middleware.BasicAuth` reads.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

import bcrypt


def add_user(path: str, user: str, password: str, rounds: int = 12) -> None:
    """Write ``user:bcrypt-hash`` to ``path``, replacing an existing line for ``user``."""
    if ":" in user or not user:
        raise ValueError("a user name must be non-empty and must not contain ':'")
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=rounds)).decode()
    lines = []
    if os.path.exists(path):
        with open(path) as file:
            lines = [line for line in file.read().splitlines()
                     if line and line.split(":", 1)[0] != user]
    lines.append(f"{user}:{hashed}")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as file:
        file.write("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wsgi-middleware-adduser",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("file")
    parser.add_argument("user")
    parser.add_argument("--password-stdin", action="store_true",
                        help="read the password from the first line of standard input")
    parser.add_argument("--rounds", type=int, default=12,
                        help="bcrypt cost: each step doubles the work (default 12)")
    args = parser.parse_args(argv)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.user}: ")
    if not password:
        print("error: empty password", file=sys.stderr)
        return 2
    add_user(args.file, args.user, password, args.rounds)
    print(f"{args.user} added to {args.file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
