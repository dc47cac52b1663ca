"""contrib/salt: the beacon lets through what the sensor needs; the reactors pass log text as data."""

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


def render(name: str, data: dict, opts: dict) -> dict:
    env = jinja2.Environment(autoescape=False, undefined=jinja2.StrictUndefined)  # noqa: S701 - YAML, not HTML
    env.policies["json.dumps_kwargs"] = {"sort_keys": True}
    return yaml.safe_load(env.from_string(read("reactor", name)).render(data=data, opts=opts)) or {}


def test_beacon_regex_keeps_the_lines_a_run_needs() -> None:
    beacon = yaml.safe_load(read("minion.d", "avamar_beacons.conf"))["beacons"]["avamar_avtar_log"]
    regex = re.compile(next(item["tags"] for item in beacon if "tags" in item)["avtar"]["regex"])
    kept = [line for line in failing_run("c1") if regex.match(line.rstrip("\n"))]
    codes = [re.search(r"<(\d+)>", line).group(1) if "<" in line else "END" for line in kept]
    assert codes == ["8474", "5552", "8609", "5704", "5126", "8941", "6149", "7001", "5314", "END"]
    assert not regex.match("2026-01-05 03:00:00 avtar Info <5993>: - Connect: Connected to 10.0.0.5:29000")


def test_forward_reactor_passes_hostile_text_as_data() -> None:
    line = "2026-01-05 03:00:00 avtar FATAL <5704>: $(reboot) `id` \"q\" 's' {{ x }} {% y %} MSG_ERR_AUTH_FAIL"
    rendered = render("avamar_forward.sls", {"raw": line, "id": "c1"}, {})
    args = rendered["avamar_forward_avtar_line"]["runner.event.send"][0]["args"]
    assert args[0] == {"tag": "avamar/avtar/line"}
    assert args[1]["data"] == {"id": "c1", "lines": [line]}
    assert render("avamar_forward.sls", {"id": "c1"}, {}) == {}


def test_webhook_reactor_posts_only_auth_failures_of_mapped_minions() -> None:
    opts = {"avamar_server_by_minion": {"c1": "ava1"}, "avamar_st2_api_key": "k3y",
            "avamar_st2_webhook_url": "https://st2.example.com/api/v1/webhooks/avamar_auth_failure"}
    line = failing_run("c1")[7].rstrip("\n")
    rendered = render("avamar_webhook.sls", {"raw": line, "id": "c1"}, opts)
    args = rendered["avamar_st2_webhook"]["runner.http.query"][0]["args"]
    body = yaml.safe_load(args[3]["data"])
    assert body == {"event": "backup_auth_failure", "server": "ava1", "minion": "c1", "line": line}
    assert render("avamar_webhook.sls", {"raw": line, "id": "unknown"}, opts) == {}
    assert render("avamar_webhook.sls", {"raw": failing_run("c1")[6], "id": "c1"}, opts) == {}
