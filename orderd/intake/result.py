"""What became of one message, as values.

`FlowResult` is what a flow decided and did, recorded in the journal. `IntakeResult` is what taking the
message in came to: the intake decides it, only the SMTP front words it; spool workers and
`orderd replay` read the same value (`recorded`) instead of parsing reply text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from orderd.records import Decision, JournalState
from orderd.store import OutgoingMail


@dataclass
class FlowResult:
    """What a flow decided and did for one message: the journal's final record of it."""

    decision: Decision
    reasons: list[str]
    order_id: int | None = None
    order_name: str | None = None
    outgoing: list[OutgoingMail] = field(default_factory=list)  # replies and forwards, sent from the outbox
    state: JournalState = JournalState.DONE


class IntakeStatus(StrEnum):
    ACCEPTED = "accepted"  # the outcome is recorded now (order, review, forwarded non-order)
    DUPLICATE = "duplicate"  # the key's outcome was recorded by an earlier delivery
    QUEUED = "queued"  # spool mode: journaled; the spool workers own it from now on
    BUSY = "busy"  # no free pipeline within pipeline.queue_wait
    UNAVAILABLE = "unavailable"  # a peer (Odoo, the store) failed or the time limit passed: try again
    FAULT = "fault"  # something unforeseen (a bug): try again; the details are in the log only


@dataclass(frozen=True)
class IntakeResult:
    status: IntakeStatus
    key: str
    decision: Decision | str | None = None  # str: as an older orderd journaled it
    order_name: str | None = None
    unavailable: str | None = None  # UNAVAILABLE: what was ("Odoo", "message store", "order processing")

    @property
    def recorded(self) -> bool:
        """The message's outcome is final: nothing more will happen to it."""
        return self.status in (IntakeStatus.ACCEPTED, IntakeStatus.DUPLICATE)

    @property
    def taken(self) -> bool:
        """orderd owns the message now (recorded, or journaled for the spool): the sender may forget it."""
        return self.recorded or self.status is IntakeStatus.QUEUED
