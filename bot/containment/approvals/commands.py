"""Containment requests in chat, `approvals list|show|cancel`, and the approval card buttons.

The pipeline checks the coarse role and audits every command and click; the approval policy
makes the real decision (the approver role per action type, four-eyes, expiry) and every
refusal is answered to the clicker alone.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.containment.approvals import decisions, policy, records
from bot.containment.approvals.card import (
    approval_card,
    current_audience,
    message_link,
    post_card,
)
from bot.containment.approvals.decisions import Decision
from bot.containment.approvals.placement import card_place
from bot.containment.approvals.policy import Refusal
from bot.containment.approvals.presentation import action_title, summary_line
from bot.containment.approvals.records import Approval, ApprovalNotFound, State
from bot.containment.approvals.requests import Ask, request_containment
from bot.containment.connector import Action
from bot.kernel import timefmt
from bot.kernel.commands import (
    ActionCall,
    CommandSet,
    Conversation,
    Invocation,
    Option,
    Param,
    Reply,
    UsageError,
)
from bot.kernel.messenger import DeliveryFailed, Message
from bot.kernel.rbac import Actor, Role
from bot.kernel.services import Services

log = logging.getLogger(__name__)

COMMANDS = CommandSet(group="containment")
LIST_LIMIT = 20
MAX_ID_CHARS = 40

_REASON = Option("--reason", "why (shown to approvers; required)", takes_value=True)
_INCIDENT = Option("--incident", "incident id, e.g. INC-20240502-003", takes_value=True)
_EXPIRES = Option("--expires", "block lifetime: 30m, 12h, 7d (90d max)", takes_value=True)
_INTERNAL = Option("--internal", "yes, block an internal address or domain")
_MORE = Param("more", "rest of an unquoted reason", required=False, rest=True)


def _ask(call: Invocation, action: Action, target_param: str) -> Ask:
    reason = call.args.get("reason") or ""
    more: list[str] = call.args.get("more") or []
    if more:
        # `--reason beaconing to evil.example.com` without quotes: the rest is the reason too.
        if not reason:
            raise UsageError(f"unexpected {' '.join(more)[:80]}")
        reason = " ".join([reason, *more])
    return Ask(
        action=action,
        target=call.args[target_param],
        reason=reason,
        selective=bool(call.args.get("selective")),
        incident=call.args.get("incident") or "",
        expires=call.args.get("expires") or "",
        internal=bool(call.args.get("internal")),
    )


async def _request(call: Invocation, ask: Ask) -> Reply:
    # A refusal (Refused) or bad input (DomainError) is answered by the pipeline, like a UsageError.
    place = await card_place(call.services, call.conversation)
    approval = await request_containment(call.services, call.actor, ask)
    return await requested_reply(call.services, approval, call.conversation, place)


async def requested_reply(
    services: Services, approval: Approval, asked_in: Conversation, place: str | None
) -> Reply:
    """Post the approval card in `place` (see placement.card_place) and tell the requester; where
    there is no place (the CLI, or Vigil cannot post there) the answer carries the card itself."""
    expires = timefmt.date_time(approval.expires_at)
    needs = " Needs 2 different approvers (crown jewel)." if approval.crown_jewel else ""
    reply = Reply(
        text=f"Requested {approval.id}: {action_title(approval)}. Waiting for approval until "
        f"{expires}.{needs}",
        audit_target=approval.target,
        audit_detail=f"{approval.id} requested",
    )
    if place is None:
        reply.card = approval_card(approval, services=services)
        return reply
    try:
        posted = await post_card(services, approval, place)
    except DeliveryFailed as exc:
        log.warning("approval %s: card not posted: %s", approval.id, exc)
        reply.text = (
            f"Requested {approval.id}, but the approval card could not be posted ({exc}). "
            f"Approvers can use `approvals show {approval.id}`."
        )
        return reply
    if place != asked_in.id:
        link = message_link(place, posted.activity_id)
        reply.text += " The approval card is in the approvals channel" + (
            f": {link}" if link else "."
        )
    return reply


@COMMANDS.command(
    "isolate-endpoint",
    summary="Ask to isolate a machine (an approver must approve)",
    role=Role.RESPONDER,
    mutating=True,
    params=(Param("host", "machine name or DNS name"), _MORE),
    options=(_REASON, Option("--selective", "keep Outlook/Teams working"), _INCIDENT),
    examples=('isolate-endpoint ws-fin-042 --reason "beaconing to evil.example.com"',),
)
async def isolate_endpoint(call: Invocation) -> Reply:
    return await _request(call, _ask(call, Action.ISOLATE_ENDPOINT, "host"))


def _block_command(action: Action, noun: str, example: str) -> None:
    async def handler(call: Invocation) -> Reply:
        return await _request(call, _ask(call, action, noun))

    COMMANDS.command(
        action.command,
        summary=f"Ask to block a {noun} (an approver must approve)",
        role=Role.RESPONDER,
        mutating=True,
        params=(Param(noun), _MORE),
        options=(_REASON, _EXPIRES, _INTERNAL, _INCIDENT),
        examples=(f'{action.command} {example} --reason "phishing kit" --expires 7d',),
    )(handler)


_block_command(Action.BLOCK_DOMAIN, "domain", "evil.example.com")
_block_command(Action.BLOCK_IP, "ip", "203.0.113.7")
_block_command(Action.BLOCK_URL, "url", "hxxps://evil.example[.]com/kit")
_block_command(Action.BLOCK_HASH, "hash", "<sha256>")


@COMMANDS.command(
    "contain",
    summary="Ask for containment step by step (target, action, reason, incident, expiry)",
    role=Role.RESPONDER,
    mutating=True,
    params=(Param("target", required=False),),
    examples=("contain", "contain ws-fin-042"),
)
async def contain(call: Invocation) -> Reply:
    # Refused before the questions, not after them: where the card would go is known now.
    await card_place(call.services, call.conversation)
    return Reply(dialog="contain", dialog_options={"target": call.args.get("target") or ""})


@COMMANDS.command(
    "approvals",
    summary="List approvals, show one as its card, or cancel your own pending request",
    role=Role.ANALYST,
    params=(
        Param("what", "list | show | cancel", required=False),
        Param("id", "approval id, e.g. AP-20240502-0007", required=False),
    ),
    options=(Option("--pending", "only pending requests"),),
    examples=("approvals list --pending", "approvals show AP-20240502-0007"),
)
async def approvals(call: Invocation) -> Reply:
    what = (call.args.get("what") or "list").lower()
    if what == "list":
        if call.args.get("id"):
            raise UsageError("approvals list takes no id")
        states = (State.PENDING,) if call.args.get("pending") else ()
        found = await records.listing(call.services.store, states=states, limit=LIST_LIMIT)
        if not found:
            return Reply(text="No pending approvals." if states else "No approvals yet.")
        title = "Pending approvals" if states else "Latest approvals"
        return Reply(text=f"{title}:\n" + "\n".join(summary_line(a) for a in found))
    if what not in ("show", "cancel"):
        raise UsageError("approvals list [--pending] | approvals show <id> | approvals cancel <id>")
    approval = await _load(call.services, call.args.get("id"))
    if what == "show":
        # Rendered for the viewer in their own reply; the posted card is not re-posted.
        user_ids = await current_audience(call.services, approval)
        card = approval_card(approval, viewer=call.actor, services=call.services, user_ids=user_ids)
        return Reply(card=card, audit_target=approval.id)
    return _answer(await decisions.cancel(call.services, approval.id, call.actor), call.actor)


async def _load(services: Services, value: Any) -> Approval:
    if not isinstance(value, str) or not value or len(value) > MAX_ID_CHARS:
        raise UsageError("name the approval, e.g. AP-20240502-0007")
    approval_id = records.normalise_id(value)
    if approval_id is None:
        raise UsageError("an approval id looks like AP-20240502-0007")
    try:
        return await records.get(services.store, approval_id)
    except ApprovalNotFound:
        raise UsageError(f"there is no approval {approval_id}") from None


def _answer(decision: Decision, actor: Actor) -> Reply:
    approval = decision.approval
    if decision.refusal is not None:
        return _refused(approval, decision.refusal)
    return Reply(
        text=f"{approval.id} is now {approval.state}.",
        audit_target=approval.id,
        audit_detail=f"{approval.id} {approval.state} by {actor.name}",
    )


def _refused(approval: Approval, refusal: Refusal) -> Reply:
    return Reply(
        text=f"Not done ({approval.id}): {refusal.text}.",
        audit_target=approval.id,
        audit_result="refused",
        audit_detail=f"{refusal.code}: {refusal.text}"[:300],
    )


# Card buttons. An Action.Execute invoke is answered to the clicker only (a card or a message in
# the invoke response). A legacy Action.Submit arrives as a message whose data also carries
# "verb"; its answer would be posted in the conversation, so refusals go to the clicker's 1:1
# chat when Vigil has one, and a card answer is the read-only state (it replaces the message).


def _legacy(call: ActionCall) -> bool:
    return "verb" in call.data


async def _card_approval(call: ActionCall) -> Approval:
    value = call.data.get("approvalId")
    if not isinstance(value, str) or not value:
        raise UsageError("the card names no approval")
    return await _load(call.services, value)


async def _click_answer(call: ActionCall, decision: Decision) -> Reply:
    if decision.refusal is not None:
        return await _private(call, _refused(decision.approval, decision.refusal))
    viewer = None if _legacy(call) else call.actor
    approval = decision.approval
    detail = f"{approval.id} {approval.state}"
    if approval.state == State.PENDING:
        detail += f" ({len(approval.approvals)} of {approval.required_approvals} approvals)"
    card = approval_card(approval, viewer=viewer, services=call.services)
    return Reply(card=card, audit_target=approval.id, audit_detail=detail)


async def _private(call: ActionCall, reply: Reply) -> Reply:
    """A legacy click's refusal, sent to the clicker's 1:1 chat when Vigil has one."""
    messenger = call.services.messenger
    if not _legacy(call) or messenger is None:
        return reply
    conversation_id = await messenger.personal_chat(call.actor.aad_object_id)
    if conversation_id is None:
        return reply
    try:
        # Not paced: it answers the click now, as a turn's reply does.
        await messenger.post(conversation_id, Message(text=reply.text or ""))
    except DeliveryFailed as exc:
        log.warning("private answer not sent: %s", exc)
        return reply
    reply.text = None  # answered privately; nothing goes into the shared conversation
    return reply


@COMMANDS.action("approval.refresh", role=Role.ANALYST, mutating=False)
async def refresh(call: ActionCall) -> Reply:
    approval = await _card_approval(call)
    viewer = None if _legacy(call) else call.actor
    card = approval_card(approval, viewer=viewer, services=call.services)
    return Reply(card=card, audit_target=approval.id)


async def _render_only(call: ActionCall) -> Reply:
    """A refresh invoke with a deciding verb: show the card, decide nothing."""
    approval = await _card_approval(call)
    card = approval_card(approval, viewer=call.actor, services=call.services)
    return Reply(card=card, audit_target=approval.id)


@COMMANDS.action("approval.approve", role=Role.ANALYST)
async def approve(call: ActionCall) -> Reply:
    if call.refresh:
        return await _render_only(call)
    approval = await _card_approval(call)
    return await _click_answer(
        call, await decisions.approve(call.services, approval.id, call.actor)
    )


@COMMANDS.action("approval.reject", role=Role.ANALYST)
async def reject(call: ActionCall) -> Reply:
    if call.refresh:
        return await _render_only(call)
    approval = await _card_approval(call)
    reason = call.data.get("reason")
    reason = reason if isinstance(reason, str) else ""
    return await _click_answer(
        call, await decisions.reject(call.services, approval.id, call.actor, reason)
    )


@COMMANDS.action("approval.cancel", role=Role.ANALYST)
async def cancel(call: ActionCall) -> Reply:
    if call.refresh:
        return await _render_only(call)
    approval = await _card_approval(call)
    return await _click_answer(call, await decisions.cancel(call.services, approval.id, call.actor))


@COMMANDS.action("approval.rollback", role=Role.RESPONDER)
async def rollback(call: ActionCall) -> Reply:
    if call.refresh:
        return await _render_only(call)
    approval = await _card_approval(call)
    refusal = policy.check_rollback(approval, call.actor)
    if refusal is not None:
        return await _private(call, _refused(approval, refusal))
    from bot.containment.execution import start_rollback

    start_rollback(call.services, approval, call.actor)
    return Reply(
        text=f"Rolling back {approval.id}; the card shows the result.",
        audit_target=approval.id,
        audit_detail=f"{approval.id} rollback requested by {call.actor.name}",
    )
