"""contrib/salt: the beacon lets through what the sensor needs; the webhook reactor maps minions as the sensor does."""

from __future__ import annotations

import os
import re

import jinja2
import yaml
from sensorkit import failing_run

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SALT = os.path.join(ROOT, "contrib", "salt")


def read(*parts: str) -> str:
    with open(os.path.join(SALT, *parts), encoding="utf-8") as handle:
        return handle.read()


def render(name: str, data: dict, opts: dict, tag: str) -> dict:
    env = jinja2.Environment(autoescape=False, undefined=jinja2.StrictUndefined)  # noqa: S701 - YAML, not HTML
    env.policies["json.dumps_kwargs"] = {"sort_keys": True}
    return yaml.safe_load(env.from_string(read("reactor", name)).render(data=data, opts=opts, tag=tag)) or {}


def test_beacon_regex_keeps_the_lines_a_run_needs() -> None:
    beacon = yaml.safe_load(read("minion.d", "avamar_beacons.conf"))["beacons"]["avamar_avtar_log"]
    regex = re.compile(next(item["tags"] for item in beacon if "tags" in item)["avtar"]["regex"])
    kept = [line for line in failing_run("c1") if regex.match(line.rstrip("\n"))]
    codes = [re.search(r"<(\d+)>", line).group(1) if "<" in line else "END" for line in kept]
    assert codes == ["8474", "6555", "5552", "8609", "5704", "5126", "8941", "6149", "7001", "5314", "END"]
    assert regex.match("-----  START avtar log 2024-03-04 01:00:02 W. Europe Standard Time")
    assert not regex.match("2026-01-05 03:00:00 avtar Info <5993>: - Connect: Connected to 10.0.0.5:29000")


def test_webhook_reactor_posts_only_auth_failures_of_mapped_minions() -> None:
    opts = {
        "avamar_server_by_minion": {"c1": "ava1"},
        "avamar_st2_api_key": "k3y",
        "avamar_st2_webhook_url": "https://st2.example.com/api/v1/webhooks/avamar_auth_failure",
    }
    line = failing_run("c1")[7].rstrip("\n")
    tag = "salt/beacon/c1/avamar_avtar_log/avtar"
    rendered = render("avamar_webhook.sls", {"raw": line, "id": "c1"}, opts, tag)
    args = rendered["avamar_st2_webhook"]["runner.http.query"][0]["args"]
    body = yaml.safe_load(args[3]["data"])
    assert body == {"event": "backup_auth_failure", "server": "ava1", "minion": "c1", "line": line}
    assert render("avamar_webhook.sls", {"raw": line, "id": "unknown"}, opts, "salt/beacon/unknown/x/y") == {}
    assert render("avamar_webhook.sls", {"raw": failing_run("c1")[6], "id": "c1"}, opts, tag) == {}
    # The minion is the one tag AND data name, as the sensor decides: a kiosk claiming c1 in one of them posts nothing.
    assert render("avamar_webhook.sls", {"raw": line, "id": "c1"}, opts, "salt/beacon/kiosk/x/y") == {}
    assert render("avamar_webhook.sls", {"raw": line, "id": "kiosk"}, opts, tag) == {}
    # A Warning <5704> quoting MSG_ERR_AUTH_FAIL is not a failure.
    warning = line.replace("FATAL <5704>", "Warning <5704>")
    assert render("avamar_webhook.sls", {"raw": warning, "id": "c1"}, opts, tag) == {}


def test_hostile_line_travels_as_data() -> None:
    opts = {
        "avamar_server_by_minion": {"c1": "ava1"},
        "avamar_st2_api_key": "k",
        "avamar_st2_webhook_url": "https://st2.example.com/api/v1/webhooks/avamar_auth_failure",
    }
    line = "2026-01-05 03:00:00 avtar FATAL <5704>: $(reboot) `id` \"q\" 's' {{ x }} {% y %} MSG_ERR_AUTH_FAIL"
    rendered = render("avamar_webhook.sls", {"raw": line, "id": "c1"}, opts, "salt/beacon/c1/avamar_avtar_log/avtar")
    body = yaml.safe_load(rendered["avamar_st2_webhook"]["runner.http.query"][0]["args"][3]["data"])
    assert body["line"] == line and body["server"] == "ava1"
