"""``chatops.post_message`` printed as a chat transcript instead of being sent to Slack."""

from __future__ import annotations

import html
import sys
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, TextIO


@dataclass(frozen=True)
class ChatMessage:
    channel: str
    message: str
    extra: Optional[Dict[str, Any]] = None


def _attachment_lines(extra: Optional[Dict[str, Any]]) -> List[str]:
    """Slack attachments (``extra.slack.attachments``, hubot-stackstorm's convention) as text."""
    slack = (extra or {}).get("slack") if isinstance(extra, dict) else None
    attachments = (slack or {}).get("attachments") if isinstance(slack, dict) else None
    lines: List[str] = []
    for item in attachments or []:
        if not isinstance(item, dict):
            continue
        colour = f" [{item['color']}]" if item.get("color") else ""
        for key in ("pretext", "title", "text"):
            if item.get(key):
                lines.append(f"{'>'}{colour} {item[key]}")
                colour = ""
        for field in item.get("fields") or []:
            if isinstance(field, dict):
                lines.append(f">   {field.get('title')}: {field.get('value')}")
    return lines


class ChatTranscript:
    """Records every message and prints it framed, with Slack's entity escapes undone."""

    def __init__(self, out: Optional[TextIO] = None, quiet: bool = False) -> None:
        self.out = out or sys.stdout
        self.quiet = quiet
        self.messages: List[ChatMessage] = []

    def post(self, channel: str, message: str, extra: Optional[Dict[str, Any]] = None) -> None:
        self.messages.append(ChatMessage(channel, message, extra))
        if self.quiet:
            return
        bar = "-" * 72
        lines = [f"+{bar}", f"| chat #{channel}"]
        lines += [f"| {line}" for line in html.unescape(message).splitlines()]
        lines += [f"| {html.unescape(line)}" for line in _attachment_lines(extra)]
        lines.append(f"+{bar}")
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()

    def say(self, who: str, channel: str, text: str) -> None:
        """A line a chat user typed (shown, not recorded as a bot message)."""
        if not self.quiet:
            self.out.write(f"  #{channel} <{who}> {text}\n")
            self.out.flush()

    def text(self) -> str:
        return "\n\n".join(m.message for m in self.messages)
