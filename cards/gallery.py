"""Sample cards for docs, tests and previews; `python -m cards.gallery` writes docs/cards/*.png."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from cards import catalog, jstools
from cards.render import render

APPROVAL_STATES = (
    "pending",
    "approved",
    "rejected",
    "expired",
    "executing",
    "succeeded",
    "failed",
    "cancelled",
)

_DECIDED = {"decidedBy": "Sam Approver", "decidedAt": "2024-05-02 09:34 UTC"}
_APPROVAL_STATE_DATA: dict[str, dict[str, Any]] = {
    "pending": {},
    "approved": _DECIDED,
    "rejected": {**_DECIDED, "decisionNote": "Isolate after the CFO's board call at 10:00."},
    "expired": {},
    "executing": {**_DECIDED, "result": "Defender for Endpoint is isolating the device."},
    "succeeded": {**_DECIDED, "result": "WS-FIN-0231 isolated at 09:36 UTC."},
    "failed": {
        **_DECIDED,
        "result": "Defender for Endpoint answered 403: missing Machine.Isolate.",
    },
    "cancelled": {},
}
_APPROVAL_VIEWS: dict[str, dict[str, Any]] = {
    "approval.requester": {"canDecide": False, "canCancel": True},
    "approval.second": {
        "canDecide": True,
        "approvalsSoFar": 1,
        "approvedBy": "Sam Approver",
    },
    "approval.unknown": {
        **_DECIDED,
        "state": "executing",
        "canDecide": False,
        "statusUnknown": True,
        "result": "Defender for Endpoint did not answer within 30 s; checking again.",
    },
    "approval.rollback": {
        **_DECIDED,
        "state": "succeeded",
        "canDecide": False,
        "canRollback": True,
        "result": "WS-FIN-0231 isolated at 09:36 UTC.",
    },
    "approval.rolledback": {
        **_DECIDED,
        "state": "succeeded",
        "canDecide": False,
        "result": "WS-FIN-0231 isolated at 09:36 UTC.",
        "rollbackText": "Rolled back by Rob Responder at 11:02 UTC: released from isolation.",
    },
}


def cases() -> list[tuple[str, str, dict[str, Any]]]:
    """(case name, template name, data): every sample plus each approval state and viewer."""
    result = [(name, name, catalog.sample(name)) for name in catalog.names()]
    approval = catalog.sample("approval")
    for state in APPROVAL_STATES:
        data = {**approval, **_APPROVAL_STATE_DATA[state], "state": state, "canDecide": False}
        result.append((f"approval.{state}", "approval", data))
    # The viewers and sub-states the approval workflow shows besides the plain states.
    for case, extra in _APPROVAL_VIEWS.items():
        result.append((case, "approval", {**approval, **extra}))
    alert = {**catalog.sample("alert"), "canAct": False}
    result.append(("alert.readonly", "alert", alert))
    return result


def write_pngs(out_dir: Path) -> list[dict[str, Any]]:
    """Render every gallery case in headless Chromium and write OUT_DIR/CASE.png."""
    cards = [{"name": case, "card": render(name, data)} for case, name, data in cases()]
    payload = {"cards": cards, "outDir": str(out_dir), "chromium": jstools.chromium()}
    return jstools.run_node("render.js", payload)["results"]


def main() -> int:
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/cards")
    failed = 0
    for result in write_pngs(out_dir):
        problems = result["errors"] + result["warnings"]
        failed += bool(problems)
        print(f"{result['name']:24} {result.get('png', '-')} {'; '.join(problems)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
