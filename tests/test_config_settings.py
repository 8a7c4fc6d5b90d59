"""Settings from the file and the environment: environment over file over defaults, errors that name
the setting and its source, ``config show`` with secrets masked, and the README's table
generated from the model."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.cli.config_cmd import README_BEGIN, README_END, reference_table
from gateway.config import ConfigError, load_config, load_settings
from gateway.config_sources import every_key
from tests.conftest import ROOT
from workflows.settings import Settings


def write(tmp_path: Path, toml: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(toml)
    return path


def env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"TICKETGATE_HOME": str(tmp_path / "var"), **extra}


def test_the_environment_wins_over_the_file_which_wins_over_defaults(tmp_path):
    path = write(tmp_path, "[gateway]\nreopen_days = 10\npurge_after_days = 40\n"
                           "[smtp]\nport = 2600\nmax_recipients = 300\n")
    settings = load_settings(path, env(tmp_path, TICKETGATE_REOPEN_DAYS="5",
                                       TICKETGATE_SMTP_MAX_RECIPIENTS="200"))
    assert (settings.reopen_days, settings.purge_after_days, settings.escalate_unanswered_hours
            ) == (5, 40, 1.0)
    assert (settings.smtp.port, settings.smtp.max_recipients) == (2600, 200)


def test_each_value_knows_where_it_came_from(tmp_path):
    path = write(tmp_path, "[gateway]\nreopen_days = 10\n[notices]\nzone = \"Europe/Berlin\"\n")
    loaded = load_config(path, env(tmp_path, TICKETGATE_AUTOMATED_PER_HOUR="7"))
    assert loaded.origin(("reopen_days",)) == f"{path} [gateway]"
    assert loaded.origin(("notices", "zone")) == f"{path} [notices]"
    assert loaded.origin(("notices", "automated_per_hour")) == \
        "environment TICKETGATE_AUTOMATED_PER_HOUR"
    assert loaded.origin(("purge_after_days",)) == "default"


def test_a_value_set_by_both_comes_from_the_environment(tmp_path):
    """The origin shown is where the value kept came from: the environment, over the file."""
    path = write(tmp_path, "[gateway]\nreopen_days = 10\n[smtp]\nport = 2600\n")
    loaded = load_config(path, env(tmp_path, TICKETGATE_REOPEN_DAYS="5",
                                   TICKETGATE_SMTP_PORT="2700"))
    assert loaded.origin(("reopen_days",)) == "environment TICKETGATE_REOPEN_DAYS"
    assert loaded.origin(("smtp", "port")) == "environment TICKETGATE_SMTP_PORT"


def test_lists_come_comma_separated_from_the_environment(tmp_path):
    settings = load_settings(None, env(tmp_path,
                                       TICKETGATE_TRUSTED_AUTHSERV_IDS="MX.Desk.example, mx2",
                                       TICKETGATE_FOLLOW_UP_DAYS="3,6,12"))
    assert settings.trusted_authserv_ids == ("mx.desk.example", "mx2")
    assert settings.follow_up_days == (3, 6, 12)


def test_the_older_combined_listen_variable_still_works(tmp_path):
    settings = load_settings(None, env(tmp_path, TICKETGATE_SMTP="0.0.0.0:2526"))
    assert (settings.smtp.host, settings.smtp.port) == ("0.0.0.0", 2526)


def test_a_wrong_environment_value_names_the_variable(tmp_path):
    with pytest.raises(ConfigError, match=r"\[gateway\] reopen_days must be a whole number "
                                          r"\(environment TICKETGATE_REOPEN_DAYS\)"):
        load_settings(None, env(tmp_path, TICKETGATE_REOPEN_DAYS="soon"))


def test_a_wrong_file_value_names_the_file_and_table(tmp_path):
    path = write(tmp_path, "[smtp]\nsize_limit = 0\n")
    with pytest.raises(ConfigError, match=r"\[smtp\] size_limit must be at least 1 \(.*"
                                          r"config.toml \[smtp\]\)"):
        load_settings(path, env(tmp_path))


def test_an_unknown_key_is_refused_not_ignored(tmp_path):
    path = write(tmp_path, "[gateway]\npurge_after_dayz = 3\n")
    with pytest.raises(ConfigError, match="purge_after_dayz is not a setting"):
        load_settings(path, env(tmp_path))


def _cli(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from gateway.cli import main; sys.exit(main(sys.argv[1:]))"
    environment = {**os.environ, **env(tmp_path, **extra)}
    for name in list(environment):
        if name.startswith("TICKETGATE_") and name not in extra and name != "TICKETGATE_HOME":
            environment.pop(name)
    return subprocess.run([sys.executable, "-c", code, *args], env=environment,
                          capture_output=True, text=True, timeout=60, check=False)


def test_config_show_masks_secrets_and_says_where_each_came_from(tmp_path):
    done = _cli(tmp_path, "config", "show", "--json",
                TICKETGATE_RELAY_PASSWORD="hunter2-relay",
                TICKETGATE_DATABASE_URL="postgresql+psycopg://desk:dbpass-77@db/desk")
    assert done.returncode == 0, done.stderr
    assert "hunter2-relay" not in done.stdout and "dbpass-77" not in done.stdout
    rows = {r["setting"]: r for r in json.loads(done.stdout)["settings"]}
    assert rows["relay.password"] == {"setting": "relay.password", "value": "********",
                                      "from": "environment TICKETGATE_RELAY_PASSWORD"}
    assert rows["database_url"]["value"] == "postgresql+psycopg://desk:***@db/desk"
    assert rows["reopen_days"] == {"setting": "reopen_days", "value": 30, "from": "default"}


def test_config_show_refuses_a_wrong_setting_with_one_line(tmp_path):
    done = _cli(tmp_path, "config", "show", TICKETGATE_HTTP_PORT="99999")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == ("ticketgate: error: [gateway] http_port must be at most "
                                   "65535 (environment TICKETGATE_HTTP_PORT)")


def test_the_readme_table_is_generated_from_the_model():
    """Edit gateway/config_model.py, then paste `ticketgate config reference` into README.md."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text[text.index(README_BEGIN) + len(README_BEGIN):text.index(README_END)]
    assert block.strip() == reference_table().strip()


def test_every_setting_of_the_model_reaches_the_domain(tmp_path):
    """A [gateway] setting declared in the model is copied into ``Settings`` by name; one
    without a field of that name there would be silently ignored."""
    names = {key[0] for key, _ in every_key() if len(key) == 1}
    fields = {f.name for f in dataclasses.fields(Settings)}
    assert names - fields == set()


def test_a_malformed_database_url_is_refused_with_one_line_that_hides_it(tmp_path):
    done = _cli(tmp_path, "case", "list", TICKETGATE_DATABASE_URL="desk:pw-31@db/desk")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("ticketgate: error: [gateway] database_url is not a database "
                                  "URL") and "pw-31" not in done.stderr
    assert "(environment TICKETGATE_DATABASE_URL)" in done.stderr


def test_a_broker_url_of_no_broker_is_refused_by_the_worker_in_one_line(tmp_path):
    """`ticketgate worker` on ftp://... stops with the setting named, not kombu's traceback."""
    done = _cli(tmp_path, "worker", TICKETGATE_BROKER_URL="ftp://guest:pw-32@mq/")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("ticketgate: error: [gateway] broker_url is not a broker URL")
    assert "pw-32" not in done.stderr


def test_the_worker_stops_at_start_in_one_line_when_its_database_is_unreachable(tmp_path):
    """Exit 3 as `serve` does, not a worker that reports ready and fails every task."""
    assert _cli(tmp_path, "init").returncode == 0
    done = _cli(tmp_path, "worker", TICKETGATE_BROKER_URL="redis://127.0.0.1:9/0",
                TICKETGATE_DATABASE_URL=f"sqlite:///{tmp_path}/missing/ticketgate.db")
    assert (done.returncode, done.stderr.count("\n")) == (3, 1), done.stderr
    assert done.stderr.startswith("ticketgate: error: ")


@pytest.mark.parametrize("url", ["support.example/cases/{number}", "https://support.example/",
                                 "https://support.example/{number}/{id}"])
def test_a_customer_case_url_without_one_number_place_is_refused(tmp_path, url):
    done = _cli(tmp_path, "config", "show", TICKETGATE_CUSTOMER_CASE_URL=url)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "customer_case_url must be an http(s) URL with {number}" in done.stderr


def test_each_desk_has_its_own_loop_id_unless_one_is_set(tmp_path):
    """Two desks left at the defaults stamp different X-Ticketgate-Loop values, so each reads
    the other's mail as mail, not as its own come back; a configured id is kept."""
    def desk(domain: str, **extra: str) -> Settings:
        path = write(tmp_path, f'[[mailbox]]\naddress = "care@{domain}"\n')
        return load_settings(path, env(tmp_path, **extra))

    assert (desk("acme.example").instance_id, desk("desk.example").instance_id,
            desk("desk.example", TICKETGATE_INSTANCE_ID="desk-eu").instance_id) == (
        "ticketgate.acme.example", "ticketgate.desk.example", "desk-eu")
