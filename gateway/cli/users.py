"""``ticketgate user add`` and ``ticketgate token create``: who may use the console and the API.

Registered by ``gateway.cli.main`` (``OPTIONAL_COMMANDS``). Passwords are read from standard
input (``--password-stdin``, first line) or prompted for without echo, never taken from the
command line where ``ps`` and shell history would keep them. A token is printed once: only its
hash is stored.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from gateway.cli.commands import _actor, _runtime
from gateway.cli.output import emit
from gateway.http.accounts import Role, add_user, create_api_token
from workflows.errors import Refused


def _password(args: argparse.Namespace) -> str | None:
    if args.no_password:
        return None
    if args.password_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise Refused("--password-stdin: standard input held no password")
        return password
    if not sys.stdin.isatty():
        raise Refused("no terminal to ask for the password: use --password-stdin")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Again: "):
        raise Refused("the passwords differ")
    return first


def user_add(args: argparse.Namespace) -> int:
    password = _password(args)
    rt = _runtime(args)
    with rt.db.transaction() as s:
        user = add_user(s, email=args.email, role=Role(args.role), password=password,
                        now=rt.now(), actor=_actor(args))
        emit({"email": user.email, "role": user.role, "password": password is not None})
    return 0


def token_create(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    with rt.db.transaction() as s:
        token = create_api_token(s, email=args.email, name=args.name, now=rt.now(),
                                 actor=_actor(args))
    emit({"email": args.email.strip().lower(), "name": args.name, "token": token})
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    user = sub.add_parser("user", help="console users").add_subparsers(dest="sub",
                                                                        required=True)
    a = user.add_parser("add", help="add a console user (argon2-hashed password)")
    a.add_argument("email")
    a.add_argument("--role", required=True, type=str.lower, choices=[r.value for r in Role])
    g = a.add_mutually_exclusive_group()
    g.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of standard input")
    g.add_argument("--no-password", action="store_true",
                   help="API tokens only: the user cannot sign in to the console")
    a.set_defaults(run=user_add)

    token = sub.add_parser("token", help="API tokens").add_subparsers(dest="sub",
                                                                       required=True)
    a = token.add_parser("create", help="create an API token for a user (printed once)")
    a.add_argument("email")
    a.add_argument("--name", default="", help="what the token is for")
    a.set_defaults(run=token_create)
