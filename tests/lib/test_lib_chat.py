"""lib/avamar_pack/chat.py: posts shaped like st2 chatops for Slack, with a complete plain-text message."""

from __future__ import annotations

from avamar_pack import chat


def attachment(post):
    [only] = post["extra"]["slack"]["attachments"]
    return only


def test_a_post_is_message_plus_slack_attachment():
    post = chat.post("*title line*\nbody", chat.GOOD, title="Title", fields=[chat.field("GSAN", 39001)])
    assert post["message"] == "*title line*\nbody" and post["colour"] == chat.GOOD
    att = attachment(post)
    assert att["fallback"] == post["message"] and att["color"] == chat.GOOD and att["title"] == "Title"
    assert att["text"] == "body"
    assert att["fields"] == [{"title": "GSAN", "value": "39001", "short": True}]
    assert "fields" in att["mrkdwn_in"]


def test_untrusted_text_is_escaped_everywhere():
    post = chat.approval_recorded_post("5f0c3a9e1b2c4d5e6f708192", False, "<!channel>", "<@U1> & co")
    text = post["message"] + str(post["extra"])
    assert "<!channel>" not in text and "<@U1>" not in text
    assert "&lt;!channel&gt;" in post["message"] and "&amp; co" in post["message"]
    assert chat.code("a`b<c>") == "`a'b&lt;c&gt;`"


def test_colours_by_outcome():
    assert chat.outcome_colour("remediated") == chat.outcome_colour("in_sync") == chat.GOOD
    assert chat.outcome_colour("rejected") == chat.outcome_colour("expired") == chat.WARNING
    assert chat.outcome_colour("failed") == chat.DANGER
    assert chat.outcome_colour("folded") == chat.INFO
    assert chat.outcome_colour("something new") == chat.WARNING


def test_approval_posts_say_what_happened_and_what_is_left():
    recorded = chat.approval_recorded_post("5f0c3a9e1b2c4d5e6f708192", True, "alice", via="chat")
    assert "approved by alice from chat" in recorded["message"] and recorded["colour"] == chat.GOOD
    refused = chat.approval_refused_post("5f0c3a9e1b2c4d5e6f708192", "mallory is not on the approvers list", "mallory")
    assert refused["message"].startswith(":no_entry: mallory may not answer")
    assert "still pending" in refused["message"] and refused["colour"] == chat.WARNING
    failed = chat.approval_not_answered_post("5f0c3a9e1b2c4d5e6f708192", "st2 API unreachable")
    assert "not answered" in failed["message"] and failed["colour"] == chat.DANGER


def test_the_request_shows_both_commands_with_the_id():
    post = chat.approval_request_post(
        "5f0c3a9e1b2c4d5e6f708192", server="ava01", ttl_minutes=60, approvers=["alice", "bob"]
    )
    for command in (
        "!avamar approve 5f0c3a9e1b2c4d5e6f708192",
        "!avamar reject 5f0c3a9e1b2c4d5e6f708192",
        "!avamar reject 5f0c3a9e1b2c4d5e6f708192 because change freeze",
    ):
        assert command in post["message"]
    titles = [f["title"] for f in attachment(post)["fields"]]
    assert titles == ["Inquiry", "Expires after", "Approvers"]


def test_the_report_has_serials_as_fields():
    output = {
        "outcome": "remediated",
        "approver": "alice",
        "accepted_serial": 48001,
        "before": {"gsan_minserial": 48000, "mcs_serial": 39001},
        "after": {"gsan_minserial": 48001, "mcs_serial": 48001},
    }
    post = chat.remediation_report_post(output, "ava01")
    att = attachment(post)
    assert att["color"] == chat.GOOD and att["title"] == "Avamar ava01: remediated"
    assert [(f["title"], f["value"]) for f in att["fields"]] == [
        ("GSAN before", "48000"),
        ("MCS before", "39001"),
        ("GSAN after", "48001"),
        ("MCS after", "48001"),
        ("Accepted serial", "48001"),
    ]
    assert "outcome *remediated*" in post["message"] and "approver: alice" in post["message"]
    failed = chat.remediation_report_post(
        {"outcome": "failed", "error": {"step": "write_mcs_serial", "reason": "<boom>", "state_left": "x"}}, "ava01"
    )
    assert failed["colour"] == chat.DANGER and "&lt;boom&gt;" in failed["message"]
