"""``ticketgate user …`` and ``ticketgate token …``: who may use the console and the API.

Place in the flow: outside the message flow; an admin's shell. ``user add``, ``user passwd``
(reset a password: every session of the user ends), ``user list``, ``user disable`` /
``user enable``, ``token create``, ``token list`` and ``token revoke``; the rules themselves
live in ``gateway.http.accounts``, shared with the console. The arguments are in
``gateway.cli.groups``.

Passwords are read from standard input (``--password-stdin``, first line) or prompted for
without echo, never taken from the command line where ``ps`` and shell history would keep them.
A token is printed once: only its hash is stored.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import sys

from gateway.cli.commands import _actor, _runtime
from gateway.cli.output import emit
from gateway.http.accounts import (
    Role,
    add_user,
    find_user,
    issue_api_token,
    list_tokens,
    list_users,
    reset_password,
    revoke_token,
    set_disabled,
)
from workflows.cases.assignment import set_notify_by_mail
from workflows.errors import Refused


def _password(args: argparse.Namespace) -> str | None:
    return None if args.no_password else _read_password(args)


def _read_password(args: argparse.Namespace) -> str:
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
        if args.notify_by_mail:
            set_notify_by_mail(s, email=user.email, enabled=True, actor=_actor(args),
                               now=rt.now())
        emit({"email": user.email, "role": user.role, "password": password is not None,
              **({"notify_by_mail": True} if args.notify_by_mail else {})})
    return 0


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def user_passwd(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    with rt.db.transaction() as s:
        find_user(s, args.email)  # an unknown user is said before anyone types a password
    password = _read_password(args)
    with rt.db.transaction() as s:
        ended = reset_password(s, email=args.email, password=password, now=rt.now(),
                               actor=_actor(args))
    emit({"email": args.email.strip().lower(), "password": True, "sessions_ended": ended})
    return 0


def user_list(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    with rt.db.transaction() as s:
        for user in list_users(s):
            emit({"email": user.email, "role": user.role, "disabled": user.disabled,
                  "password": user.password_hash is not None,
                  "created": _iso(user.created_at), "last_login": _iso(user.last_login_at)})
    return 0


def user_disable(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    with rt.db.transaction() as s:
        user, ended = set_disabled(s, email=args.email, disabled=args.disabled, now=rt.now(),
                                   actor=_actor(args))
        line = {"email": user.email, "disabled": user.disabled, "sessions_ended": ended}
    emit(line)
    return 0


def user_set(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    with rt.db.transaction() as s:
        user = set_notify_by_mail(s, email=args.email, enabled=args.notify_by_mail,
                                  actor=_actor(args), now=rt.now())
        emit({"email": user.email, "notify_by_mail": user.notify_by_mail})
    return 0


def token_create(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    with rt.db.transaction() as s:
        token_id, token = issue_api_token(s, email=args.email, name=args.name, now=rt.now(),
                                          actor=_actor(args))
    emit({"id": token_id, "email": args.email.strip().lower(), "name": args.name,
          "token": token})
    return 0


def token_list(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    with rt.db.transaction() as s:
        for token, user in list_tokens(s, args.email):
            emit({"id": token.id, "email": user.email, "name": token.name,
                  "created": _iso(token.created_at), "last_used": _iso(token.last_used_at),
                  "revoked": _iso(token.revoked_at)})
    return 0


def token_revoke(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    lines = []
    # all or nothing: one unknown id revokes none, and nothing is printed before the commit
    with rt.db.transaction() as s:
        for token_id in args.ids:
            token, user = revoke_token(s, token_id=token_id, now=rt.now(), actor=_actor(args))
            lines.append({"id": token.id, "email": user.email, "name": token.name,
                          "revoked": _iso(token.revoked_at)})
    for line in lines:
        emit(line)
    return 0
