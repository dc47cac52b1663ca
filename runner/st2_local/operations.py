"""What people do to a running local st2: chat commands, Inquiry answers and expiry, ``st2 run``
with answers (the one-shot ``run()`` of the CLI). Mixed into ``WorkflowRunner``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Mapping

from st2_local.alias_exec import (
    alias_context,
    cast_alias_params,
    inject_immutable_parameters,
    match_command,
    render_ack,
    render_result,
)
from st2_local.executions import SYSTEM_USER, WorkflowRun, WorkflowRunError
from st2_local.inquiries import InvalidResponse
from st2_local.st2_api import ApiAnswer

if TYPE_CHECKING:
    from st2_local.workflow_runner import WorkflowRunner


class OperationsMixin:
    # -- chat ---------------------------------------------------------------------------------
    def run_alias(
        self: WorkflowRunner,
        alias_ref: str,
        parameters: Mapping[str, Any],
        chat_user: str,
        bot_user: str,
        source_channel: str = "avamar",
    ) -> WorkflowRun:
        """``POST /v1/aliasexecution`` by the chat bot (st2 user ``bot_user``) for ``chat_user``."""
        alias = self.aliases[alias_ref]
        context = alias_context(alias, chat_user, bot_user, source_channel)
        params = inject_immutable_parameters(alias, dict(parameters), context)
        _, action_params, _ = self._meta(alias.action_ref)
        params = cast_alias_params(action_params, params)
        run = self.request(alias.action_ref, params, context, render_live=False)
        self.alias_runs[run.execution_id] = alias
        ack = render_ack(alias, run)
        if ack:  # st2api answers the POST with it; hubot posts it at once
            self.transcript.post(source_channel, ack)
        self.drain()
        return run

    def alias_completed(self: WorkflowRunner, run: WorkflowRun) -> None:
        """st2's chatops notify rule: the alias's result format posted to the source channel."""
        alias = self.alias_runs.get(run.execution_id)
        message = render_result(alias, run) if alias is not None else None
        if message:
            self.transcript.post(str(run.context.get("source_channel") or "chatops"), message)

    def chat_command(
        self: WorkflowRunner, command: str, chat_user: str, bot_user: str, source_channel: str = "avamar"
    ) -> WorkflowRun:
        """A chat user types ``!avamar ...``: hubot strips the bot prefix, st2api matches the alias."""
        self.transcript.say(chat_user, source_channel, command)
        alias, params = match_command(self.aliases, command.lstrip("!").strip())
        return self.run_alias(alias.ref, params, chat_user, bot_user, source_channel)

    # -- Inquiries ----------------------------------------------------------------------------
    def _on_inquiry_response(self: WorkflowRunner, inquiry_id: str, response: Dict[str, Any], requester: str) -> None:
        """Called by the API (any thread) after it accepted a response: resume the run."""
        self.enqueue(lambda: self.engine.inquiry_closed(inquiry_id))

    def respond(self: WorkflowRunner, inquiry_id: str, response: Mapping[str, Any], requester: str) -> WorkflowRun:
        """``st2 inquiry respond`` by st2 user ``requester``; raises ApiAnswer when st2 refuses."""
        self.api.respond(inquiry_id, dict(response), requester=requester)
        self.drain()
        return self.engine.run_of_inquiry(inquiry_id)

    def expire(self: WorkflowRunner, inquiry_id: str) -> WorkflowRun:
        """st2's garbage collector after the ttl: the Inquiry times out, the workflow resumes
        (requested by the system user, who st2 records as ``resumed_by``)."""
        run = self.engine.run_of_inquiry(inquiry_id)
        self.api.expire(inquiry_id)
        self.api.update_execution(run.execution_id, context={"resumed_by": SYSTEM_USER})
        self.enqueue(lambda: self.engine.inquiry_closed(inquiry_id))
        self.drain()
        return run

    # -- the one-shot API of the CLI and older tests ------------------------------------------
    def run(self: WorkflowRunner, ref: str, parameters: Mapping[str, Any]) -> WorkflowRun:
        """Start a workflow and answer each of its Inquiries with ``answerer`` until it ends."""
        run = self.start(ref, parameters)
        while run.status == "paused" and run.pending_inquiry is not None:
            inquiry = run.pending_inquiry
            if self.answerer is None:
                raise WorkflowRunError("the workflow asks for approval but no answer source was given")
            response = self.answerer(inquiry)
            if response is None:
                self.say(f"Inquiry {inquiry.id} expired unanswered")
                self.expire(inquiry.id)
                continue
            if self.api.execution(inquiry.id)["status"] == "pending":
                try:  # an answerer that did not answer through the API: answer for it, as its user
                    self.respond(inquiry.id, response, requester=str(response.get("approver") or self.user))
                except ApiAnswer as e:
                    raise InvalidResponse(f"st2 refused the answer ({e.code}): {e.faultstring}") from None
            self.drain()
        return run
