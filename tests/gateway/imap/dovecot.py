"""A real Dovecot IMAP server for tests and benches: unprivileged, on loopback, in a throwaway dir.

Follows ../shared/recipes/README.md: Dovecot runs as the ``dovetest`` system user (created when
missing) when we are root, as the current user otherwise, listens on a free port of 127.0.0.1,
authenticates users from a passwd-file made up front (``take_user``), and keeps everything
(config, Maildirs, logs, sockets) under one temporary directory removed by ``cleanup``. ``kill``
is a crash (SIGKILL to the whole process group); ``start`` after it restarts on the same port.
"""

from __future__ import annotations

import contextlib
import getpass
import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from imapclient import IMAPClient

SERVICE_USER = "dovetest"
START_TIMEOUT = 30.0


def dovecot_binary() -> str | None:
    """The dovecot executable (it lives in /usr/sbin, which a user's PATH may lack)."""
    found = shutil.which("dovecot")
    if found:
        return found
    return "/usr/sbin/dovecot" if os.access("/usr/sbin/dovecot", os.X_OK) else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _service_user() -> str:
    """Who Dovecot runs as: ``dovetest`` (created if missing) as root, else ourselves."""
    if os.geteuid() != 0:
        return getpass.getuser()
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(["useradd", "-r", "-M", "-s", "/usr/sbin/nologin", SERVICE_USER],
                       check=True, capture_output=True)
    return SERVICE_USER


_CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
default_login_user = {user}
default_internal_user = {user}
default_internal_group = {group}
{ssl}
disable_plaintext_auth = no
# Dovecot 2.3 checks an XOAUTH2 token like a password against the passdb, so the token-command
# path of the poller can be tested without an OAuth2 server.
auth_mechanisms = plain login xoauth2
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users
  default_fields = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  chroot =
}}
service auth {{
  chroot =
}}
{extra}
"""


class Dovecot:
    """One Dovecot instance; ``extra_config`` lines are appended to its configuration.

    With ``tls_cert`` and ``tls_key`` (PEM files; copied in, so the service user can read them)
    it runs ``ssl = yes``: STARTTLS on ``port`` and implicit TLS on ``imaps_port`` (RFC 8314);
    clear-text logins stay allowed so ``client`` keeps working. Without them: ``ssl = no``, no
    imaps listener (``imaps_port`` is None), exactly as before.
    """

    def __init__(self, binary: str, *, extra_config: str = "", users: int = 100,
                 tls_cert: Path | None = None, tls_key: Path | None = None) -> None:
        self.binary = binary
        self.user = _service_user()
        entry = pwd.getpwnam(self.user)
        self.root = Path(tempfile.mkdtemp(prefix="tg-dovecot-"))
        self.root.chmod(0o755)  # the service user must reach its config and Maildirs
        self.port = free_port()
        self.host = "127.0.0.1"
        self._proc: subprocess.Popen[bytes] | None = None
        for sub in ("run", "state", "home"):
            (self.root / sub).mkdir()
        self.imaps_port: int | None = None
        ssl = "ssl = no"
        if tls_cert is not None and tls_key is not None:
            self.imaps_port = free_port()
            (self.root / "tls").mkdir()
            shutil.copyfile(tls_cert, self.root / "tls" / "cert.pem")
            shutil.copyfile(tls_key, self.root / "tls" / "key.pem")
            ssl = (f"ssl = yes\nssl_cert = <{self.root}/tls/cert.pem\n"
                   f"ssl_key = <{self.root}/tls/key.pem")
        self._free_users = [(f"u{i:03d}-{uuid.uuid4().hex[:6]}@test.local", uuid.uuid4().hex)
                            for i in range(users)]
        (self.root / "users").write_text("".join(f"{user}:{{PLAIN}}{password}::::::\n"
                                                 for user, password in self._free_users))
        group = grp.getgrgid(entry.pw_gid).gr_name
        (self.root / "dovecot.conf").write_text(_CONFIG.format(
            root=self.root, user=self.user, group=group, uid=entry.pw_uid, gid=entry.pw_gid,
            port=self.port, extra=extra_config, ssl=ssl, imaps_port=self.imaps_port or 0))
        if os.geteuid() == 0:
            for path in (self.root, *self.root.rglob("*")):
                os.chown(path, entry.pw_uid, entry.pw_gid)

    def take_user(self) -> tuple[str, str]:
        """An unused (user, password) with an empty Maildir.

        Users are written once, before the start: Dovecot re-reads a passwd-file at most once a
        second, so a user added at run time may be unknown for a moment.
        """
        if not self._free_users:
            raise RuntimeError("no unused Dovecot users left; raise `users`")
        return self._free_users.pop(0)

    def start(self) -> None:
        if self._proc is not None:
            raise RuntimeError("dovecot is already running")
        as_root = os.geteuid() == 0
        self._proc = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.root / "dovecot.conf")],
            user=self.user if as_root else None, group=self.user if as_root else None,
            extra_groups=[] if as_root else None, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self._proc = None
                raise RuntimeError(f"dovecot exited at start:\n{self.log_tail()}")
            if self._greets():
                return
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"dovecot did not listen within {START_TIMEOUT:g}s:\n"
                           f"{self.log_tail()}")

    def _greets(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=2) as sock:
                return sock.recv(64).startswith(b"* OK")
        except OSError:
            return False

    def kill(self) -> None:
        """A crash: SIGKILL to the master and every child (imap, auth, login processes)."""
        self._signal_group(signal.SIGKILL)

    def stop(self) -> None:
        self._signal_group(signal.SIGTERM)

    def _signal_group(self, signum: signal.Signals) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signum)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        # Children left behind by the master (it may die first) get the same signal.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = (self.root / "dovecot.log").read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def client(self, user: str, password: str) -> IMAPClient:
        """A logged-in client for the test's own checks and appends (close it: ``with``)."""
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=30)
        try:
            client.login(user, password)
        except BaseException:
            client.shutdown()
            raise
        return client

