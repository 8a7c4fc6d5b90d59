"""A second host on a database that has sent mail, without the first host's secret: ``init``
and ``serve`` used to make a new secret, so every reply to mail already sent read as an invalid
reference. Now both refuse in one line that says which file to copy; a database that has sent
nothing still gets a new secret, as a fresh ``make run`` needs.

Subprocesses, as an operator runs the commands, on the test's own database (SQLite, or
PostgreSQL with ``TICKETGATE_TEST_BACKEND=postgresql``)."""

from __future__ import annotations

from tests.gateway.test_serve_schema import SERVE, _env, _run


def _first_host_sends_case_mail(tmp_path, database_url) -> None:
    env = _env(tmp_path / "first", database_url)
    for args in (["init"], ["org", "add", "Acme", "--domain", "acme.example", "--tz", "UTC"],
                 ["contact", "add", "Acme", "alice@acme.example"],
                 ["case", "open", "--org", "Acme", "--contact", "alice@acme.example",
                  "--subject", "Printer on fire"],
                 ["case", "post", "CASE-1001", "--body", "Which model?"]):
        done = _run(env, *args)
        assert done.returncode == 0, (args, done.stderr)


def test_a_second_host_without_the_secret_is_refused_in_one_line(tmp_path, database_url):
    _first_host_sends_case_mail(tmp_path, database_url)
    second = tmp_path / "second"
    env = _env(second, database_url)
    for args in (["init"], SERVE):
        done = _run(env, *args)
        assert done.returncode == 3, (args, done.stderr)
        [line] = [x for x in done.stderr.splitlines() if "error:" in x]
        assert f"no server secret at {second / 'secret.key'}" in line
        assert "copy secret.key from the host that initialized it" in line
    assert not (second / "secret.key").exists()


def test_a_copied_secret_lets_the_second_host_start(tmp_path, database_url):
    _first_host_sends_case_mail(tmp_path, database_url)
    second = tmp_path / "second"
    second.mkdir()
    (second / "secret.key").write_bytes((tmp_path / "first" / "secret.key").read_bytes())
    done = _run(_env(second, database_url), "init")
    assert done.returncode == 0, done.stderr


def test_a_database_that_sent_nothing_gets_a_new_secret(tmp_path, database_url):
    env = _env(tmp_path / "first", database_url)
    assert _run(env, "init").returncode == 0
    done = _run(_env(tmp_path / "second", database_url), "init")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "second" / "secret.key").exists()
