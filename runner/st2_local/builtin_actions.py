"""The actions of st2's own packs that this pack uses: ``core.ask``, ``core.noop``, ``core.echo``,
``chatops.post_message``. Parameter metadata as in st2 v3.9.0's ``contrib/core`` and
``contrib/chatops`` packs; ``chatops.post_message`` (announcement runner) goes to the chat
transcript instead of st2's announcement stream.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Tuple

from st2_local.chat_transcript import ChatTranscript

# ref -> (runner type, action parameters)
BUILTIN_ACTIONS: Dict[str, Tuple[str, Dict[str, Dict[str, Any]]]] = {
    "core.ask": ("inquirer", {}),
    "core.noop": ("noop", {}),
    "core.echo": ("local-shell-cmd", {"message": {"type": "string", "required": True}}),
    "chatops.post_message": (
        "announcement",
        {
            "experimental": {"immutable": True, "default": True},
            "route": {"default": "chatops"},
            "user": {"type": "string"},
            "whisper": {"type": "boolean", "default": False},
            "message": {"type": "string", "required": True},
            "channel": {"type": "string", "required": True},
            "context": {"type": "object"},
            "extra": {"type": "object"},
        },
    ),
}


def run_builtin(ref: str, params: Mapping[str, Any], transcript: ChatTranscript) -> Tuple[str, Any]:
    """(status, result) of one built-in action (not core.ask: the runner handles Inquiries)."""
    if ref == "core.noop":
        return "succeeded", {}
    if ref == "core.echo":
        message = str(params.get("message", ""))
        return "succeeded", {"stdout": message, "stderr": "", "return_code": 0, "succeeded": True, "failed": False}
    if ref == "chatops.post_message":
        try:
            transcript.post(str(params["channel"]), str(params["message"]), extra=params.get("extra"))
        except Exception as e:  # chat is down: the post fails, as the announcement would
            return "failed", {"error": f"chatops.post_message: {type(e).__name__}: {e}"}
        # The announcement runner's result is the payload it published.
        return "succeeded", {
            k: v for k, v in params.items() if k in ("channel", "message", "extra", "user", "whisper", "context")
        }
    raise KeyError(f"{ref} is not a built-in action of the local runner")
