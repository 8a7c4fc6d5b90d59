"""OAuth2 access tokens for XOAUTH2 logins, from the operator's token command.

Place in the flow: the IMAP poller's login (``gateway.imap.connection``) and the SMTP relay's
AUTH (``gateway.smtp_relay``). A module of its own, not part of ``gateway.imap``, because the
SMTP client needs only this: importing the ``gateway.imap`` package pulled the poller, the drain
and with them the whole inbound pipeline into every command that builds a transport.
"""

from __future__ import annotations

import subprocess


class OAuth2TokenError(RuntimeError):
    """The configured token command failed or printed nothing; the account cannot log in."""


def fetch_oauth2_token(command: str, *, timeout: float) -> str:
    """Run the account's token command and return what it printed (an OAuth2 access token).

    Run through the shell, like msmtp's ``passwordeval`` and mbsync's ``PassCmd``: the command
    comes from the operator's own configuration and often is a pipeline. A fresh token is asked
    for at every login because access tokens expire (about an hour at Microsoft and Google).
    """
    try:
        done = subprocess.run(command, shell=True, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise OAuth2TokenError(f"token command did not finish within {timeout:g}s") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [""])[-1][:200]
        raise OAuth2TokenError(f"token command exited with {done.returncode}: {last}")
    token = done.stdout.strip()
    if not token:
        raise OAuth2TokenError("token command printed no token")
    return token
