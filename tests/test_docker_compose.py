"""docker/compose.yaml and the README's "Running with Docker" section describe the same services.

No Docker engine runs here: these tests read the files. The README lists each service as a
bullet starting with its name in backticks (- `worker` — ...); the compose file's top-level
``services`` must name exactly those.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import ROOT

COMPOSE = ROOT / "docker" / "compose.yaml"
BEGIN, END = "<!-- docker:begin -->", "<!-- docker:end -->"
SERVICE_BULLET = re.compile(r"^[-*] `([a-z0-9][a-z0-9_.-]*)`", re.M)


def _compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _readme_services(readme: Path = ROOT / "README.md") -> set[str]:
    text = readme.read_text(encoding="utf-8")
    section = text[text.index(BEGIN) + len(BEGIN):text.index(END)]
    return set(SERVICE_BULLET.findall(section))


def test_compose_file_parses_with_services():
    """A YAML slip would only show on a machine with Docker; catch it here."""
    assert isinstance(_compose().get("services"), dict)


def test_readme_and_compose_name_the_same_services():
    """The README must not promise a service compose lacks, nor leave one unexplained."""
    assert _readme_services() == set(_compose()["services"])


def test_ticketgate_roles_share_one_home_volume():
    """The secret and blobs live in the home: every role must mount the same volume there."""
    services = _compose()["services"]
    home = "/var/lib/ticketgate"
    mounts = {name: [v for v in services[name].get("volumes", []) if v.endswith(":" + home)]
              for name in ("init", "gateway", "worker", "beat")}
    assert mounts == {name: [f"ticketgate-home:{home}"] for name in mounts}


def test_the_console_is_published_and_listens_beyond_the_container_loopback():
    """The console must bind 0.0.0.0 inside the container and be published on the host."""
    gateway = _compose()["services"]["gateway"]
    assert "--http" in gateway["command"]
    assert gateway["command"][gateway["command"].index("--http") + 1].startswith("0.0.0.0:")
    assert any(str(port).endswith(":8080") for port in gateway["ports"])


def test_every_long_running_service_has_a_health_check():
    services = _compose()["services"]
    running = [name for name, svc in services.items() if svc.get("restart") != "no"]
    assert running and all("healthcheck" in services[name] for name in running)


def test_the_image_installs_the_pinned_scale_out_extras():
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text(encoding="utf-8")
    assert "-c constraints.txt" in dockerfile and "[postgres,redis" in dockerfile


def test_a_variable_set_in_the_shared_block_reaches_every_ticketgate_role():
    """README: variables are "set in the x-ticketgate block". An operator uncommenting
    TICKETGATE_CONFIG there must give the listener the same mailboxes as the workers (the
    gateway's own environment key would otherwise replace the block, not add to it)."""
    text = COMPOSE.read_text(encoding="utf-8")
    commented = "    # TICKETGATE_CONFIG: /etc/ticketgate/config.toml"
    assert commented in text, "the compose file no longer offers TICKETGATE_CONFIG to uncomment"
    data = yaml.safe_load(text.replace(commented, commented.replace("# ", "", 1), 1))
    services = data["services"]
    seen = {name: services[name].get("environment", {}).get("TICKETGATE_CONFIG")
            for name in ("init", "gateway", "worker", "beat")}
    assert seen == {name: "/etc/ticketgate/config.toml" for name in seen}
