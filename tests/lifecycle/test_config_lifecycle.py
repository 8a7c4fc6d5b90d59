"""Lifecycle settings come from the TOML file and the environment, checked at load time."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError, load_settings
from workflows.clock.calendar import Duration, TimeUnit
from workflows.clock.targets import DEFAULT_SLA_TARGETS, target_for
from workflows.domain import Severity

BASE = '[[mailbox]]\naddress = "care@desk.example"\n'


def load(tmp_path, toml: str, **env: str):
    path = tmp_path / "config.toml"
    path.write_text(toml + BASE)
    return load_settings(path, env={"TICKETGATE_HOME": str(tmp_path / "var"), **env})


def test_defaults_follow_the_domain(tmp_path):
    """Without configuration: 2/5/10 business days, the DOMAIN.md targets, 25% warning."""
    settings = load(tmp_path, "")
    assert (settings.follow_up_days, settings.sla_targets, settings.sla_warning_share,
            settings.purge_after_days, settings.care_team_address) == (
        (2, 5, 10), DEFAULT_SLA_TARGETS, 0.25, 30, None)


def test_toml_overrides_one_severity_and_the_timers(tmp_path):
    """A desk can answer High faster and keep the other targets."""
    settings = load(tmp_path, '[gateway]\ncare_team_address = "team@desk.example"\n'
                    "follow_up_days = [3, 6, 12]\nsla_warning_share = 0.2\n"
                    "purge_after_days = 45\n"
                    '[sla.high]\nresponse = "1 business hour"\n')
    high = target_for(settings.sla_targets, Severity.HIGH)
    assert high.response == Duration(1, TimeUnit.BUSINESS_HOURS)
    assert high.resolution == Duration(2, TimeUnit.BUSINESS_DAYS)
    assert target_for(settings.sla_targets, Severity.LOW) == target_for(DEFAULT_SLA_TARGETS,
                                                                       Severity.LOW)
    assert (settings.care_team_address, settings.follow_up_days, settings.sla_warning_share,
            settings.purge_after_days) == ("team@desk.example", (3, 6, 12), 0.2, 45)


def test_environment_names_the_care_team(tmp_path):
    """The environment wins over the file, as for every other setting."""
    settings = load(tmp_path, '[gateway]\ncare_team_address = "team@desk.example"\n',
                    TICKETGATE_CARE_TEAM_ADDRESS="night@desk.example")
    assert settings.care_team_address == "night@desk.example"


@pytest.mark.parametrize("toml, where", [
    ('[sla.urgent]\nresponse = "1h"\n', "sla.urgent"),
    ('[sla.high]\nresponse = "soon"\n', "sla.high"),
    ('[sla.high]\nreply = "1h"\n', "sla.high"),
    ("[gateway]\nfollow_up_days = [5, 2, 10]\n", "follow_up_days expected three increasing"),
    ("[gateway]\nsla_warning_share = 1.5\n", "sla_warning_share"),
])
def test_wrong_lifecycle_settings_stop_the_start(tmp_path, toml, where):
    """A typo in a target must not silently become another target."""
    with pytest.raises(ConfigError, match=where):
        load(tmp_path, toml)


def test_case_mail_retry_schedule_from_toml_and_environment(tmp_path):
    """``mail_retry_minutes``: the default is the notices' schedule; TOML and env override."""
    assert load(tmp_path, "").mail_retry_minutes == (5, 15, 60, 240)
    assert load(tmp_path, "[gateway]\nmail_retry_minutes = [1, 10]\n").mail_retry_minutes == (
        1, 10)
    assert load(tmp_path, "", TICKETGATE_MAIL_RETRY_MINUTES="2,4,8").mail_retry_minutes == (
        2, 4, 8)


@pytest.mark.parametrize("value", ['"soon"', "[0, 5]", "[]"])
def test_a_bad_case_mail_retry_schedule_is_refused(tmp_path, value):
    """Not a list of positive minutes: a clear error at load time, not a surprise later."""
    with pytest.raises(ConfigError, match="mail_retry_minutes"):
        load(tmp_path, f"[gateway]\nmail_retry_minutes = {value}\n")
