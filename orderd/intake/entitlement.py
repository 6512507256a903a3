"""Who may speak about an order, and who may give commands on it (Tiny ERP's rule: commands only from
those entitled to give them). Pure: the caller looks up the sender's company first."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sender:
    """What decides a sender's rights on an order."""

    internal: bool  # writes from one of our own domains (a colleague)
    company_id: int | None  # the commercial partner the sender writes for in Odoo; None: a stranger
    authenticated: bool | None  # the border's verdict (SPF/DKIM/DMARC); None: no verdict available


def concerns_sender(order_partner_id: int | None, sender: Sender) -> bool:
    """The sender may speak about this order: a colleague, or someone of the order's own company.
    Anyone else naming it is treated as if no order had been named (order numbers can be walked)."""
    if sender.internal:
        return True
    return sender.company_id is not None and sender.company_id == order_partner_id


def may_command(order_partner_id: int | None, sender: Sender) -> bool:
    """Commands (`Cancel: yes`) are carried out only for someone the order concerns whose mail did not
    fail authentication: a forged From of the right company must not cancel its orders."""
    return concerns_sender(order_partner_id, sender) and sender.authenticated is not False
