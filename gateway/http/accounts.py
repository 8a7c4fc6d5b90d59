"""Console accounts: users, roles, password checks, sessions, API tokens and the login limit.

Place in the flow: outside the message flow, at the HTTP edge. ``ticketgate user …`` and
``ticketgate token …`` write users and tokens here (add, reset a password, disable, list,
revoke); the console's login form, its own-password form and the API's ``Authorization: Bearer``
header are checked here, and every request then carries a ``Principal`` whose role says which
of the domain's services it may call. No FastAPI in this module, so the CLI can use it without
the web stack.

Secrets are never stored: passwords as argon2id hashes (RFC 9106), session and API tokens as
their sha256 (they are 256-bit random values, so a fast hash is enough).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import secrets
from dataclasses import dataclass
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import CursorResult, Delete, delete, func, select
from sqlalchemy.orm import Session

from workflows.cases.service import audit
from workflows.domain import Role
from workflows.errors import NotFound, Refused
from workflows.outbound.compose import checked_address
from workflows.storage.models import ApiToken, ConsoleSession, ConsoleUser, LoginAttempt

log = logging.getLogger(__name__)

SESSION_LIFETIME = dt.timedelta(hours=12)
LOGIN_WINDOW = dt.timedelta(minutes=15)
MAX_ACCOUNT_FAILURES = 5  # per account in the window: stops guessing one password
MAX_IP_FAILURES = 20  # per client address in the window: stops spraying many accounts
MIN_PASSWORD = 10
TOKEN_PREFIX = "tg_"


class Permission(StrEnum):
    TRIAGE_READ = "triage:read"
    TRIAGE_ACT = "triage:act"
    CASES_READ = "cases:read"
    CASES_WRITE = "cases:write"
    NOTICES_READ = "notices:read"
    NOTICES_WRITE = "notices:write"
    HEALTH_READ = "health:read"
    FAILED_RETRY = "failed:retry"
    DIRECTORY_READ = "directory:read"
    DIRECTORY_WRITE = "directory:write"  # organizations' settings: admins only
    SENDERS_BLOCK = "senders:block"  # block a sender for good: admins only


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.ANALYST: frozenset({Permission.CASES_READ, Permission.CASES_WRITE,
                             Permission.NOTICES_READ, Permission.HEALTH_READ,
                             Permission.DIRECTORY_READ,
                             # README: analysts work triage (link, open, reopen, discard,
                             # reply); blocking a sender stays with admins (SENDERS_BLOCK).
                             Permission.TRIAGE_READ, Permission.TRIAGE_ACT}),
    Role.SCHEDULER: frozenset({Permission.NOTICES_READ, Permission.NOTICES_WRITE,
                               Permission.CASES_READ, Permission.HEALTH_READ,
                               Permission.DIRECTORY_READ}),
}

# Where each role lands after signing in (``/``): its own work first.
HOME: dict[Role, str] = {Role.ADMIN: "/triage", Role.ANALYST: "/cases",
                         Role.SCHEDULER: "/notices"}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a signed-in user (``session_id``) or an API token's owner."""

    user_id: int
    email: str
    role: Role
    session_id: int | None = None  # the console session; None for API tokens
    session_hash: str | None = None  # ties CSRF tokens to this session

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]

    @property
    def actor(self) -> str:
        """The audit log's "who" (the CLI writes ``cli:NAME``, the system ``system``)."""
        return self.email


# OWASP Password Storage Cheat Sheet's argon2id floor (19 MiB, 2 passes, 1 lane): a guess costs
# an attacker that much memory, while a sign-in stays around 30 ms on a small server.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@functools.cache
def dummy_hash() -> str:
    """Verified when the account does not exist, so an unknown email costs as long as a known
    one. Made on first use, not at import: hashing takes ~32 ms, which every CLI command (an
    `ingest` of 3,000 mails included) paid for nothing. ``create_app`` makes it before serving,
    so no sign-in pays it."""
    return _HASHER.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def password_matches(stored: str | None, password: str) -> bool:
    """Constant work whether or not there is a stored hash."""
    try:
        return _HASHER.verify(stored or dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _principal(user: ConsoleUser, session_row: ConsoleSession | None = None) -> Principal:
    return Principal(user.id, user.email, Role(user.role),
                     session_row.id if session_row else None,
                     session_row.token_hash if session_row else None)


# --- users and tokens (the CLI) --------------------------------------------------------------


def password_problem(password: str) -> str | None:
    """Why ``password`` may not be set, or None. The one rule for the CLI and the console."""
    if len(password) < MIN_PASSWORD:
        return f"a password needs at least {MIN_PASSWORD} characters"
    return None


def add_user(session: Session, *, email: str, role: Role, password: str | None,
             now: dt.datetime, actor: str) -> ConsoleUser:
    email = checked_address(email).lower()
    if session.scalars(select(ConsoleUser).where(ConsoleUser.email == email)).first():
        raise Refused(f"user {email} already exists")
    problem = password_problem(password) if password is not None else None
    if problem:
        raise Refused(problem)
    user = ConsoleUser(email=email, role=role.value, disabled=False, created_at=now,
                       password_hash=hash_password(password) if password is not None else None)
    session.add(user)
    session.flush()
    audit(session, actor=actor, action="user.add", now=now, user=email, role=role.value)
    return user


def find_user(session: Session, email: str) -> ConsoleUser:
    user = session.scalars(select(ConsoleUser).where(
        ConsoleUser.email == email.strip().lower())).first()
    if user is None:
        raise NotFound(f"no user {email}")
    return user


def list_users(session: Session) -> list[ConsoleUser]:
    return list(session.scalars(select(ConsoleUser).order_by(ConsoleUser.email)))


def _deleted(session: Session, statement: Delete) -> int:
    """How many rows ``statement`` deleted. ``Session.execute`` is typed to return a
    ``Result``; for a DELETE it is a ``CursorResult`` (SQLAlchemy 2: "ORM-enabled INSERT,
    UPDATE, and DELETE statements"), the one that has ``rowcount``."""
    result = session.execute(statement)
    assert isinstance(result, CursorResult)
    return result.rowcount


def end_sessions(session: Session, user_id: int) -> int:
    """Sign a user out everywhere; how many sessions ended."""
    return _deleted(session, delete(ConsoleSession).where(ConsoleSession.user_id == user_id))


def reset_password(session: Session, *, email: str, password: str, now: dt.datetime,
                   actor: str) -> int:
    """An admin sets a user's password (``ticketgate user passwd``); returns how many sessions
    ended. Every session ends, since whoever holds one may be why the password is reset; API
    tokens stay (they are revoked one by one with ``token revoke``)."""
    user = find_user(session, email)
    problem = password_problem(password)
    if problem:
        raise Refused(problem)
    user.password_hash = hash_password(password)
    ended = end_sessions(session, user.id)
    audit(session, actor=actor, action="user.passwd", now=now, user=user.email,
          sessions_ended=ended)
    return ended


def set_disabled(session: Session, *, email: str, disabled: bool, now: dt.datetime,
                 actor: str) -> tuple[ConsoleUser, int]:
    """Disable (or enable) a user; returns the user and how many sessions ended.

    A disabled user cannot sign in, and ``principal_for_session`` / ``principal_for_token``
    refuse their sessions and tokens. The sessions are also deleted, so enabling the user again
    does not bring back a browser signed in before; tokens are only suspended (they work again
    once enabled), since a token lost for good means touching every script that used it.
    Idempotent: asking for the state the user is already in changes and audits nothing.
    """
    user = find_user(session, email)
    if user.disabled == disabled:
        return user, 0
    user.disabled = disabled
    ended = end_sessions(session, user.id) if disabled else 0
    audit(session, actor=actor, action="user.disable" if disabled else "user.enable", now=now,
          user=user.email, sessions_ended=ended)
    return user, ended


def create_api_token(session: Session, *, email: str, name: str, now: dt.datetime,
                     actor: str) -> str:
    """A new token for ``email``; the only time its value is known (only a hash is kept)."""
    return issue_api_token(session, email=email, name=name, now=now, actor=actor)[1]


def issue_api_token(session: Session, *, email: str, name: str, now: dt.datetime,
                    actor: str) -> tuple[int, str]:
    """``create_api_token`` that also gives the token's id, which ``token revoke`` takes."""
    user = find_user(session, email)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name.strip()[:200], created_at=now,
                   token_hash=token_digest(token))
    session.add(row)
    session.flush()
    audit(session, actor=actor, action="token.create", now=now, user=user.email, name=name)
    return row.id, token


def list_tokens(session: Session, email: str | None = None
                ) -> list[tuple[ApiToken, ConsoleUser]]:
    query = select(ApiToken, ConsoleUser).join(ConsoleUser, ApiToken.user_id == ConsoleUser.id)
    if email is not None:
        query = query.where(ConsoleUser.id == find_user(session, email).id)
    return [(token, user) for token, user in session.execute(query.order_by(ApiToken.id))]


def revoke_token(session: Session, *, token_id: int, now: dt.datetime, actor: str
                 ) -> tuple[ApiToken, ConsoleUser]:
    """Revoke one token for good (the row stays, for the audit trail). Idempotent: a token
    revoked before keeps its first ``revoked_at``."""
    row = session.get(ApiToken, token_id)
    user = session.get(ConsoleUser, row.user_id) if row is not None else None
    if row is None or user is None:
        raise NotFound(f"no API token {token_id} (see ticketgate token list)")
    if row.revoked_at is None:
        row.revoked_at = now
        audit(session, actor=actor, action="token.revoke", now=now, user=user.email,
              token=row.id, name=row.name)
    return row, user


def principal_for_token(session: Session, token: str, now: dt.datetime) -> Principal | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = session.scalars(select(ApiToken).where(
        ApiToken.token_hash == token_digest(token), ApiToken.revoked_at.is_(None))).first()
    if row is None:
        return None
    user = session.get(ConsoleUser, row.user_id)
    if user is None or user.disabled:
        return None
    row.last_used_at = now
    return _principal(user)


# --- login, sessions and the rate limit (the console) ----------------------------------------


class LoginOutcome(StrEnum):
    OK = "ok"
    REFUSED = "refused"  # wrong email or password: the same answer for both
    THROTTLED = "throttled"


@dataclass(frozen=True, slots=True)
class LoginResult:
    outcome: LoginOutcome
    session_token: str | None = None
    principal: Principal | None = None
    retry_after: int = 0  # seconds, when throttled


def _failures_since(session: Session, since: dt.datetime, **where: str) -> list[dt.datetime]:
    query = select(LoginAttempt.at).where(LoginAttempt.at >= since,
                                          LoginAttempt.success.is_(False))
    for column, value in where.items():
        query = query.where(getattr(LoginAttempt, column) == value)
    return list(session.scalars(query.order_by(LoginAttempt.at)))


def throttled_for(session: Session, *, email: str, ip: str, now: dt.datetime) -> int:
    """Seconds until this account (or this address) may try again; 0 when it may now."""
    since = now - LOGIN_WINDOW
    wait = 0
    for failures, limit in ((_failures_since(session, since, email=email), MAX_ACCOUNT_FAILURES),
                            (_failures_since(session, since, ip=ip), MAX_IP_FAILURES)):
        if len(failures) >= limit:
            # allowed again once the oldest failure that still counts leaves the window
            free_at = failures[len(failures) - limit] + LOGIN_WINDOW
            wait = max(wait, int((free_at - now).total_seconds()) + 1)
    return wait


def log_in(session: Session, *, email: str, password: str, ip: str,
           now: dt.datetime) -> LoginResult:
    """Check the password (unless throttled), record the attempt, open a session."""
    email = email.strip().lower()[:320]
    ip = ip[:64]
    wait = throttled_for(session, email=email, ip=ip, now=now)
    if wait:
        log.warning("login throttled for an account from %s", ip)
        return LoginResult(LoginOutcome.THROTTLED, retry_after=wait)
    user = session.scalars(select(ConsoleUser).where(ConsoleUser.email == email)).first()
    ok = password_matches(user.password_hash if user else None, password)
    ok = ok and user is not None and not user.disabled
    session.add(LoginAttempt(at=now, email=email, ip=ip, success=ok))
    if not ok or user is None:
        return LoginResult(LoginOutcome.REFUSED)
    if _HASHER.check_needs_rehash(user.password_hash or ""):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    token, row = _open_session(session, user, ip=ip, now=now)
    audit(session, actor=user.email, action="console.login", now=now, ip=ip)
    return LoginResult(LoginOutcome.OK, token, _principal(user, row))


def _open_session(session: Session, user: ConsoleUser, *, ip: str, now: dt.datetime
                  ) -> tuple[str, ConsoleSession]:
    token = secrets.token_urlsafe(32)
    row = ConsoleSession(token_hash=token_digest(token), user_id=user.id, created_at=now,
                         expires_at=now + SESSION_LIFETIME, ip=ip)
    session.add(row)
    session.flush()
    return token, row


def change_password(session: Session, principal: Principal, *, current: str, new: str,
                    ip: str, now: dt.datetime) -> LoginResult:
    """A signed-in user sets their own password (the console's account page).

    The current password is checked like a sign-in: a wrong one counts as a failed login of
    that account, and the login limit applies, so a browser left signed in is no oracle for
    guessing it. On success every session of the user ends, this one included, and a new one
    is issued in its place (``session_token``): a copy of the old cookie, wherever it went, is
    worthless afterwards. API tokens are left alone. Raises ``Refused`` for a new password that
    breaks the rule or equals the current one.
    """
    problem = password_problem(new)
    if problem:
        raise Refused(problem)
    ip = ip[:64]
    wait = throttled_for(session, email=principal.email, ip=ip, now=now)
    if wait:
        log.warning("password change throttled for an account from %s", ip)
        return LoginResult(LoginOutcome.THROTTLED, retry_after=wait)
    user = session.get(ConsoleUser, principal.user_id)
    ok = user is not None and not user.disabled and password_matches(user.password_hash,
                                                                       current)
    if not ok or user is None:
        session.add(LoginAttempt(at=now, email=principal.email, ip=ip, success=False))
        return LoginResult(LoginOutcome.REFUSED)
    if new == current:
        raise Refused("the new password is the same as the current one")
    user.password_hash = hash_password(new)
    ended = end_sessions(session, user.id)
    token, row = _open_session(session, user, ip=ip, now=now)
    audit(session, actor=user.email, action="user.password", now=now, ip=ip,
          other_sessions_ended=max(ended - 1, 0))
    return LoginResult(LoginOutcome.OK, token, _principal(user, row))


def principal_for_session(session: Session, token: str, now: dt.datetime) -> Principal | None:
    if not token or len(token) > 200:
        return None
    row = session.scalars(select(ConsoleSession).where(
        ConsoleSession.token_hash == token_digest(token))).first()
    if row is None or row.expires_at <= now:
        return None
    user = session.get(ConsoleUser, row.user_id)
    if user is None or user.disabled:
        return None
    return _principal(user, row)


def log_out(session: Session, principal: Principal, now: dt.datetime) -> None:
    if principal.session_id is not None:
        session.execute(delete(ConsoleSession).where(ConsoleSession.id == principal.session_id))
    audit(session, actor=principal.email, action="console.logout", now=now)


def purge_expired(session: Session, now: dt.datetime) -> int:
    """Drop expired sessions and login attempts older than the window (housekeeping)."""
    gone = _deleted(session, delete(ConsoleSession).where(ConsoleSession.expires_at <= now))
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - 8 * LOGIN_WINDOW))
    return gone


def user_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ConsoleUser)) or 0
