"""The approval policy, case by case: four-eyes, role, state, expiry, crown jewels, durations."""

from __future__ import annotations

import itertools

import pytest

from bot.containment.approvals import policy
from bot.containment.approvals.records import Approval, State
from bot.containment.approvals.settings import (
    ApprovalSettings,
    parse_crown_jewels,
    parse_duration_seconds,
)
from bot.containment.connector import Action
from bot.kernel import timefmt
from bot.kernel.rbac import Actor, Role

NOW = 1_714_640_000.0
REQUESTER = Actor("req-1", "Rob Responder", frozenset({Role.RESPONDER}))
APPROVER = Actor("app-1", "Apu Approver", frozenset({Role.APPROVER}))
SECOND = Actor("app-2", "Sam Approver", frozenset({Role.APPROVER}))
ADMIN = Actor("adm-1", "Ada Admin", frozenset({Role.ADMIN}))
ANALYST = Actor("ana-1", "Ann Analyst", frozenset({Role.ANALYST}))
NOBODY = Actor("", "Nora Norole")


def pending(**changes) -> Approval:
    approval = Approval(
        id="AP-20240502-0001",
        action=Action.BLOCK_DOMAIN.value,
        target="evil.example.com",
        reason="phishing",
        requester_id=REQUESTER.aad_object_id,
        requester_name=REQUESTER.name,
        requested_at=NOW - 60,
        expires_at=NOW + 1800,
    )
    for name, value in changes.items():
        setattr(approval, name, value)
    return approval


def test_four_eyes_holds_even_for_an_admin_requester():
    approval = pending(requester_id=ADMIN.aad_object_id, requester_name=ADMIN.name)
    refusal = policy.check_approve(approval, ADMIN, Role.APPROVER, NOW)
    assert refusal is not None and refusal.code == "four-eyes"
    assert refusal.text == "you requested this, someone else must approve"
    assert policy.check_reject(approval, ADMIN, Role.APPROVER, NOW, "no").code == "four-eyes"


@pytest.mark.parametrize(
    ("actor", "role", "allowed"),
    [
        (APPROVER, Role.APPROVER, True),
        (ADMIN, Role.APPROVER, True),
        (ANALYST, Role.APPROVER, False),
        (NOBODY, Role.APPROVER, False),
        (APPROVER, Role.COMMANDER, False),
        (ADMIN, Role.COMMANDER, True),
        (Actor("c", "Cam", frozenset({Role.COMMANDER})), Role.COMMANDER, True),
    ],
)
def test_role_per_action_type(actor, role, allowed):
    refusal = policy.check_approve(pending(), actor, role, NOW)
    assert (refusal is None) is allowed
    if not allowed:
        assert refusal.code == "role" and refusal.text == f"needs role {role.value}"


@pytest.mark.parametrize(
    ("state", "decided_by", "expected"),
    [
        (State.APPROVED, "Sam", "already approved by Sam"),
        (State.EXECUTING, "Sam", "already approved by Sam"),
        (State.SUCCEEDED, "Sam", "already approved by Sam"),
        (State.FAILED, "", "already approved by someone else"),
        (State.REJECTED, "Sam", "already rejected by Sam"),
        (State.CANCELLED, "Rob", "this request is cancelled"),
        (State.EXPIRED, "", "expired at"),
    ],
)
def test_only_pending_requests_can_be_decided(state, decided_by, expected):
    approval = pending(state=state.value, decided_by_name=decided_by)
    for check in (
        policy.check_approve(approval, APPROVER, Role.APPROVER, NOW),
        policy.check_reject(approval, APPROVER, Role.APPROVER, NOW, "why"),
        policy.check_cancel(approval, REQUESTER, NOW),
    ):
        assert check is not None and check.text.startswith(expected)


def test_expiry_uses_the_record_time_and_the_clock():
    approval = pending(expires_at=NOW)
    refusal = policy.check_approve(approval, APPROVER, Role.APPROVER, NOW)
    assert refusal.code == "expired" and refusal.text == f"expired at {timefmt.clock(NOW)}"
    assert policy.check_approve(approval, APPROVER, Role.APPROVER, NOW - 0.001) is None
    assert policy.is_expired(approval, NOW) and not policy.is_expired(approval, NOW - 1)
    assert not policy.is_expired(pending(state="approved", expires_at=NOW), NOW + 5)


def test_reject_needs_a_reason_and_cancel_is_the_requester_s_alone():
    assert policy.check_reject(pending(), APPROVER, Role.APPROVER, NOW, " \n").code == "reason"
    assert policy.check_reject(pending(), APPROVER, Role.APPROVER, NOW, "false positive") is None
    assert policy.check_cancel(pending(), REQUESTER, NOW) is None
    assert policy.check_cancel(pending(), ADMIN, NOW).code == "not-requester"
    assert policy.can_cancel(pending(), REQUESTER, NOW) and not policy.can_cancel(
        pending(), None, NOW
    )


def test_crown_jewel_needs_two_distinct_approvers():
    approval = pending(required_approvals=policy.required_approvals(True), crown_jewel=True)
    first = policy.with_approval(approval, APPROVER, NOW)
    assert not policy.is_decisive(approval, first)
    approval.approvals = first
    again = policy.check_approve(approval, APPROVER, Role.APPROVER, NOW)
    assert again.code == "already-approved"
    assert not policy.can_decide(approval, APPROVER, Role.APPROVER, NOW)
    # The same person twice in the list (a forged record) still counts once.
    assert not policy.is_decisive(approval, [*first, *first])
    assert policy.is_decisive(approval, policy.with_approval(approval, SECOND, NOW))
    assert policy.required_approvals(False) == 1


def test_can_decide_for_viewers():
    approval = pending()
    assert policy.can_decide(approval, APPROVER, Role.APPROVER, NOW)
    assert not policy.can_decide(approval, REQUESTER, Role.APPROVER, NOW)
    assert not policy.can_decide(approval, None, Role.APPROVER, NOW)
    assert not policy.can_decide(approval, ANALYST, Role.APPROVER, NOW)


def test_rollback_only_on_succeeded_by_a_responder_once():
    done = pending(state="succeeded")
    assert policy.check_rollback(done, REQUESTER) is None
    assert policy.check_rollback(done, ADMIN) is None
    assert policy.check_rollback(done, ANALYST).code == "role"
    assert policy.check_rollback(pending(state="failed"), REQUESTER).code == "not-succeeded"
    rolled = pending(state="succeeded", rollback_state="succeeded", rollback_by_name="Rob")
    refusal = policy.check_rollback(rolled, REQUESTER)
    assert refusal.code == "rolled-back" and "by Rob" in refusal.text
    assert policy.can_rollback(done, REQUESTER) and not policy.can_rollback(done, None)


@pytest.mark.parametrize(
    ("patterns", "names", "tags", "expected"),
    [
        (("ws-fin-*",), ("WS-FIN-042",), (), "ws-fin-*"),
        (("*.corp.example",), ("dc01.corp.example.",), (), "*.corp.example"),
        (("tag:crown",), ("ws-1",), ("Crown",), "tag:crown"),
        (("tag:pci-*",), ("ws-1",), ("PCI-Zone",), "tag:pci-*"),
        (("tag:crown",), ("crown",), (), None),  # a tag pattern never matches a name
        (("crown",), ("ws-1",), ("crown",), None),  # a name pattern never matches a tag
        (("dc??",), ("dc01",), (), "dc??"),
        (("[!a]*",), ("b-host",), (), "[!a]*"),
        ((), ("anything",), ("any",), None),
        (("ws-fin-*",), ("", "ws-hr-1"), ("",), None),
    ],
)
def test_crown_jewel_patterns(patterns, names, tags, expected):
    assert policy.crown_jewel_match(patterns, names, tags) == expected


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("12h", 43200), ("7d", 604800), ("90d", 7776000), ("1m", 60), (" 2H ", 7200)],
)
def test_block_durations(text, seconds):
    assert policy.parse_block_duration(text) == seconds


@pytest.mark.parametrize("text", ["91d", "0m", "30", "7 days", "-1d", "1w", "", "9" * 50 + "d"])
def test_bad_block_durations(text):
    with pytest.raises(ValueError):
        policy.parse_block_duration(text)


def test_settings_parsers_and_per_action_values():
    parse = parse_duration_seconds(60, 3600)
    assert parse("30m") == 1800 and parse("120") == 120 and parse(" 1h ") == 3600
    for bad in ("59", "2h", "soon", "1.5h"):
        with pytest.raises(ValueError):
            parse(bad)
    assert parse_crown_jewels("WS-FIN-*, tag:Crown ,") == ("ws-fin-*", "tag:crown")
    for bad in ("tag:", "x" * 201):
        with pytest.raises(ValueError):
            parse_crown_jewels(bad)
    settings = ApprovalSettings(
        expiry=1800,
        expiry_by_action={Action.ISOLATE_ENDPOINT: 600, Action.BLOCK_IP: 0},
        role_by_action={Action.BLOCK_DOMAIN: Role.COMMANDER},
    )
    assert settings.expiry_for(Action.ISOLATE_ENDPOINT) == 600
    assert settings.expiry_for(Action.BLOCK_IP) == 1800
    assert settings.role_for(Action.BLOCK_DOMAIN) is Role.COMMANDER
    assert settings.role_for(Action.BLOCK_HASH) is Role.APPROVER


def test_every_actor_state_pair_answers_without_error():
    actors = (REQUESTER, APPROVER, ADMIN, ANALYST, NOBODY)
    for actor, state in itertools.product(actors, State):
        approval = pending(state=state.value)
        allowed = policy.check_approve(approval, actor, Role.APPROVER, NOW) is None
        assert allowed == (state is State.PENDING and actor in (APPROVER, ADMIN))
