"""Who may speak about an order and who may give commands on it: a pure rule."""

from __future__ import annotations

from orderd.intake.entitlement import Sender, concerns_sender, may_command

ORDER_COMPANY = 7


def test_the_orders_company_may_command_unless_authentication_failed() -> None:
    assert may_command(ORDER_COMPANY, Sender(internal=False, company_id=ORDER_COMPANY, authenticated=True))
    assert may_command(ORDER_COMPANY, Sender(internal=False, company_id=ORDER_COMPANY, authenticated=None))
    failed = Sender(internal=False, company_id=ORDER_COMPANY, authenticated=False)
    assert concerns_sender(ORDER_COMPANY, failed) and not may_command(ORDER_COMPANY, failed)


def test_a_colleague_may_command_any_order() -> None:
    assert may_command(ORDER_COMPANY, Sender(internal=True, company_id=None, authenticated=True))


def test_another_company_or_a_stranger_may_not_even_speak_about_it() -> None:
    for sender in (Sender(internal=False, company_id=8, authenticated=True),
                   Sender(internal=False, company_id=None, authenticated=True)):
        assert not concerns_sender(ORDER_COMPANY, sender) and not may_command(ORDER_COMPANY, sender)
    assert not concerns_sender(None, Sender(internal=False, company_id=None, authenticated=True))
