"""``chatops.post_message`` printed as a chat transcript instead of being sent to Slack."""

from __future__ import annotations

import html
import sys
from dataclasses import dataclass
from typing import List, Optional, TextIO


@dataclass(frozen=True)
class ChatMessage:
    channel: str
    message: str


class ChatTranscript:
    """Records every message and prints it framed, with Slack's entity escapes undone."""

    def __init__(self, out: Optional[TextIO] = None, quiet: bool = False) -> None:
        self.out = out or sys.stdout
        self.quiet = quiet
        self.messages: List[ChatMessage] = []

    def post(self, channel: str, message: str) -> None:
        self.messages.append(ChatMessage(channel, message))
        if self.quiet:
            return
        bar = "-" * 72
        lines = [f"+{bar}", f"| chat #{channel}"]
        lines += [f"| {line}" for line in html.unescape(message).splitlines()]
        lines.append(f"+{bar}")
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()

    def text(self) -> str:
        return "\n\n".join(m.message for m in self.messages)
