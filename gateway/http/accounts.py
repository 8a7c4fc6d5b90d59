"""Console accounts: users, roles, password checks, sessions, API tokens and the login limit.

Place in the flow: outside the message flow, at the HTTP edge. ``ticketgate user add`` and
``ticketgate token create`` write users and tokens here; the console's login form and the API's
``Authorization: Bearer`` header are checked here, and every request then carries a
``Principal`` whose role says which of the domain's services it may call. No FastAPI in this
module, so the CLI can use it without the web stack.

Secrets are never stored: passwords as argon2id hashes (RFC 9106), session and API tokens as
their sha256 (they are 256-bit random values, so a fast hash is enough).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from workflows.cases import audit
from workflows.errors import NotFound, Refused
from workflows.outbound import checked_address
from workflows.storage.models import ApiToken, ConsoleSession, ConsoleUser, LoginAttempt

log = logging.getLogger(__name__)

SESSION_LIFETIME = dt.timedelta(hours=12)
LOGIN_WINDOW = dt.timedelta(minutes=15)
MAX_ACCOUNT_FAILURES = 5  # per account in the window: stops guessing one password
MAX_IP_FAILURES = 20  # per client address in the window: stops spraying many accounts
MIN_PASSWORD = 10
TOKEN_PREFIX = "tg_"


class Role(StrEnum):
    ADMIN = "admin"  # triage, users' mail, failed messages: everything
    ANALYST = "analyst"  # works cases
    SCHEDULER = "scheduler"  # sends notices


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


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.ANALYST: frozenset({Permission.CASES_READ, Permission.CASES_WRITE,
                             Permission.NOTICES_READ, Permission.HEALTH_READ,
                             Permission.DIRECTORY_READ}),
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
# Verified when the account does not exist, so an unknown email costs as long as a known one.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def password_matches(stored: str | None, password: str) -> bool:
    """Constant work whether or not there is a stored hash."""
    try:
        return _HASHER.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _principal(user: ConsoleUser, session_row: ConsoleSession | None = None) -> Principal:
    return Principal(user.id, user.email, Role(user.role),
                     session_row.id if session_row else None,
                     session_row.token_hash if session_row else None)


# --- users and tokens (the CLI) --------------------------------------------------------------


def add_user(session: Session, *, email: str, role: Role, password: str | None,
             now: dt.datetime, actor: str) -> ConsoleUser:
    email = checked_address(email).lower()
    if session.scalars(select(ConsoleUser).where(ConsoleUser.email == email)).first():
        raise Refused(f"user {email} already exists")
    if password is not None and len(password) < MIN_PASSWORD:
        raise Refused(f"a password needs at least {MIN_PASSWORD} characters")
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


def create_api_token(session: Session, *, email: str, name: str, now: dt.datetime,
                     actor: str) -> str:
    """A new token for ``email``; the only time its value is known (only a hash is kept)."""
    user = find_user(session, email)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, name=name.strip()[:200], created_at=now,
                         token_hash=token_digest(token)))
    audit(session, actor=actor, action="token.create", now=now, user=user.email, name=name)
    return token


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
    token = secrets.token_urlsafe(32)
    row = ConsoleSession(token_hash=token_digest(token), user_id=user.id, created_at=now,
                         expires_at=now + SESSION_LIFETIME, ip=ip)
    session.add(row)
    session.flush()
    audit(session, actor=user.email, action="console.login", now=now, ip=ip)
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
    gone = session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= now)
                           ).rowcount
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - 8 * LOGIN_WINDOW))
    return gone


def user_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ConsoleUser)) or 0
