"""The intake's flows, end to end inside one process: a message in, what Odoo, the journal and the
outbox hold afterwards. Odoo is in memory (unit.memory_odoo), reached through the same OrderBook the
real server uses."""

from __future__ import annotations

from orderd.intake.result import IntakeStatus
from orderd.records import Stage
from unit.conftest import House, email


async def test_a_clean_order_is_confirmed_answered_and_noted(house: House) -> None:
    result = await house.send(email("Hello,\nplease send 2 x DC-1004.\nThanks, Jane"))
    assert result.status is IntakeStatus.ACCEPTED and result.decision == "order"
    order = house.odoo.order(result.order_name or "")
    assert order.state == "sale"
    assert [(line["default_code"], line["qty"]) for line in order.lines] == [("DC-1004", 2.0)]
    assert order.partner_id == house.odoo.partner_by_email("info@orion-electronics.com").id  # placed on the company
    [reply] = await house.outgoing(result)
    assert reply.subject.startswith(f"[{order.name}] Re:") and reply.header("Auto-Submitted") == "auto-replied"
    [note] = house.odoo.notes_on(order.name)
    assert "Reply sent to jane.doe@orion-electronics.com" in note.body and "reply.eml" in note.files
    assert house.odoo.activities == []  # nothing for a person to do


async def test_each_odoo_step_is_timed_under_its_own_stage(house: House) -> None:
    result = await house.send(email("Please send 2 x DC-1004."))
    entry = await house.store.get(result.key)
    assert entry is not None
    assert set(entry.timings) == {Stage.CLASSIFY, Stage.THREAD, Stage.EXTRACT, Stage.RESOLVE, Stage.KEY_LOOKUP,
                                  Stage.CUSTOMER, Stage.ALIASES, Stage.STOCK, Stage.DECIDE, Stage.CREATE, Stage.CONFIRM,
                                  Stage.REPLY, Stage.CHATTER, Stage.TOTAL}
    review = await house.send(email("Please send 3 x DC-9999."))
    entry = await house.store.get(review.key)
    assert entry is not None and Stage.ACTIVITY in entry.timings and Stage.CONFIRM not in entry.timings


async def test_an_unknown_product_makes_a_draft_with_an_activity(house: House) -> None:
    result = await house.send(email("Please send 3 x DC-9999 and 2 x DC-1004."))
    assert result.decision == "needs_review"
    order = house.odoo.order(result.order_name or "")
    assert order.state == "draft"
    [(order_id, summary, note)] = house.odoo.activities
    assert order_id == order.id and "Review" in summary and "DC-9999" in note
    [reply] = await house.outgoing(result)
    assert "DC-9999" in reply.parsed.get_body(preferencelist=("plain",)).get_content()


async def test_a_shortage_is_not_confirmed(house: House) -> None:
    result = await house.send(email("Please send 5 x DC-1003."))  # none on hand
    assert result.decision == "needs_review"
    order = house.odoo.order(result.order_name or "")
    assert order.state == "draft"
    entry = await house.store.get(result.key)
    assert entry is not None and entry.reasons == ["DC-1003: 5 requested, 0 available"]
    [reply] = await house.outgoing(result)
    assert "DC-1003" in reply.parsed.get_body(preferencelist=("plain",)).get_content()


async def test_a_question_goes_to_a_person_and_nothing_to_odoo(house: House) -> None:
    result = await house.send(email("Hello, do you also make brass fittings? What are your opening hours?"))
    assert result.decision == "not_order" and result.order_name is None
    assert house.odoo.orders == {} and "create_order" not in house.odoo.calls
    [forward] = await house.outgoing(result, kind="forward")
    assert "sales@mycompany.test" in forward.header("To") and await house.outgoing(result) == []


async def test_an_auto_reply_is_never_answered(house: House) -> None:
    raw = email("I am out of the office until Monday.", subject="Out of office",
                headers={"Auto-Submitted": "auto-replied"})
    result = await house.send(raw)
    assert result.decision == "not_order"
    assert await house.outgoing(result) == [] and await house.outgoing(result, kind="forward") == []
    assert house.odoo.calls == []


async def test_the_same_message_twice_makes_one_order(house: House) -> None:
    raw = email("Please send 2 x DC-1004.", message_id="<twice@example.com>")
    first = await house.send(raw)
    second = await house.send(raw)
    assert second.status is IntakeStatus.DUPLICATE and second.order_name == first.order_name
    assert len(house.odoo.orders) == 1


async def test_a_crash_after_the_create_resumes_without_a_second_order(house: House) -> None:
    raw = email("Please send 2 x DC-1004.", message_id="<crash@example.com>")
    house.odoo.crash_before = "confirm_order"
    crashed = await house.send(raw)
    assert crashed.status is IntakeStatus.FAULT  # the sender keeps the message and retries
    [draft] = house.odoo.orders.values()
    assert draft.state == "draft"
    retried = await house.send(raw)
    assert retried.status is IntakeStatus.ACCEPTED and retried.order_name == draft.name
    assert len(house.odoo.orders) == 1 and house.odoo.order(draft.name).state == "sale"
    assert house.odoo.calls.count("create_order") == 1


async def test_a_crash_after_the_confirmation_still_answers_once(house: House) -> None:
    raw = email("Please send 2 x DC-1004.", message_id="<crash2@example.com>")
    house.odoo.crash_before = "post_email"
    assert (await house.send(raw)).status is IntakeStatus.FAULT
    retried = await house.send(raw)
    order = house.odoo.order(retried.order_name or "")
    assert retried.decision == "order" and order.state == "sale"  # its own reservation is not a shortage
    assert house.odoo.calls.count("create_order") == 1 and house.odoo.calls.count("confirm_order") == 1
    assert len(house.odoo.notes_on(order.name)) == 1 and len(await house.outgoing(retried)) == 1


async def test_the_customer_cancels_a_quotation(house: House) -> None:
    draft = await house.send(email("Please send 3 x DC-9999."))
    name = draft.order_name or ""
    cancel = await house.send(email("Cancel: yes\n\nSorry, we found another supplier.", subject=f"Re: [{name}]"))
    assert cancel.order_name == name and house.odoo.order(name).state == "cancel"
    [ack] = await house.outgoing(cancel)
    assert f"[{name}]" in ack.subject


async def test_a_colleague_of_the_same_company_may_cancel(house: House) -> None:
    draft = await house.send(email("Please send 3 x DC-9999."))
    name = draft.order_name or ""
    await house.send(email("Cancel: yes", sender="Orion Purchasing <info@orion-electronics.com>",
                           subject=f"Re: [{name}]"), sender="info@orion-electronics.com")
    assert house.odoo.order(name).state == "cancel"


async def test_a_confirmed_order_is_not_cancelled_by_mail(house: House) -> None:
    confirmed = await house.send(email("Please send 2 x DC-1004."))
    name = confirmed.order_name or ""
    result = await house.send(email("Cancel: yes", subject=f"Re: [{name}]"))
    assert house.odoo.order(name).state == "sale" and result.decision == "needs_review"
    entry = await house.store.get(result.key)
    assert entry is not None and any("needs a person" in reason for reason in entry.reasons)
    assert any(summary == f"Customer wrote about {name}" for _id, summary, _note in house.odoo.activities)


async def test_a_stranger_naming_an_order_writes_nothing_on_it(house: House) -> None:
    draft = await house.send(email("Please send 3 x DC-9999."))
    name = draft.order_name or ""
    notes_before = len(house.odoo.notes_on(name))
    result = await house.send(email("Cancel: yes", sender="Mallory <mallory@evil.example>",
                                    subject=f"Re: [{name}]"), sender="mallory@evil.example")
    assert house.odoo.order(name).state == "draft"
    assert len(house.odoo.notes_on(name)) == notes_before and "cancel_order" not in house.odoo.calls
    # Read as mail of its own: a cancellation of no order of theirs goes to a person, nothing is created.
    assert result.decision == "needs_review" and result.order_name is None and len(house.odoo.orders) == 1
    [forward] = await house.outgoing(result, kind="forward")
    assert "sales@mycompany.test" in forward.header("To") and await house.outgoing(result) == []


async def test_a_stranger_naming_an_order_in_a_new_order_gets_a_new_order(house: House) -> None:
    first = await house.send(email("Please send 3 x DC-9999."))
    name = first.order_name or ""
    result = await house.send(email("Please send 2 x DC-1004.", sender="Buyer <buyer@acmehandtools.com>",
                                    subject=f"Re: [{name}]"), sender="buyer@acmehandtools.com")
    assert result.order_name not in (None, name) and len(house.odoo.notes_on(name)) == 1
    entry = await house.store.get(result.key)
    assert entry is not None and f"names {name}, which is not an order of this sender's" in entry.reasons


async def test_an_unauthenticated_customer_cannot_cancel(house: House) -> None:
    draft = await house.send(email("Please send 3 x DC-9999."))
    name = draft.order_name or ""
    hostname = house.services.config.smtp.hostname
    forged = email("Cancel: yes", subject=f"Re: [{name}]",
                   headers={"Authentication-Results": f"{hostname}; spf=fail; dkim=fail; dmarc=fail"})
    result = await house.send(forged)
    assert house.odoo.order(name).state == "draft"
    entry = await house.store.get(result.key)
    assert entry is not None and "commands ignored: the sender is not authenticated" in entry.reasons


async def test_replies_beyond_the_hourly_cap_are_withheld_and_the_order_still_made(house: House) -> None:
    house.configure(policy={"max_replies_per_hour": 1})
    first = await house.send(email("Please send 1 x DC-1004."))
    second = await house.send(email("Please send 2 x DC-1004."))
    assert len(await house.outgoing(first)) == 1 and await house.outgoing(second) == []
    assert house.odoo.order(second.order_name or "").state == "sale"
    [note] = house.odoo.notes_on(second.order_name or "")
    assert "No reply was sent to the customer" in note.body and "max_replies_per_hour" in note.body


async def test_no_reply_to_our_own_address(house: House) -> None:
    result = await house.send(email("Please send 2 x DC-1004.", headers={"Reply-To": "orders@mycompany.test"}))
    assert result.order_name and await house.outgoing(result) == []
    entry = await house.store.get(result.key)
    assert entry is not None and any("orderd's own address" in reason for reason in entry.reasons)


async def test_a_bounce_of_our_reply_is_noted_on_its_order(house: House) -> None:
    order = await house.send(email("Please send 2 x DC-1004."))
    name = order.order_name or ""
    bounce = email(f"Delivery failed for your message [{name}].", sender="MAILER-DAEMON <mailer-daemon@example.com>",
                   subject=f"Undelivered Mail Returned to Sender [{name}]")
    result = await house.send(bounce, sender="")
    assert result.decision == "not_order" and result.order_name == name
    assert len(house.odoo.notes_on(name)) == 2
    assert any("bounced" in summary for _id, summary, _note in house.odoo.activities)
    assert await house.outgoing(result) == []


async def test_odoo_down_is_temporary_and_records_nothing(house: House) -> None:
    from orderd.odoo.client import OdooUnavailable

    async def down(_key: str) -> None:
        raise OdooUnavailable("connection refused")

    house.odoo.find_order_by_key = down  # type: ignore[method-assign]
    result = await house.send(email("Please send 2 x DC-1004."))
    assert result.status is IntakeStatus.UNAVAILABLE and result.unavailable == "Odoo"
    entry = await house.store.get(result.key)
    assert entry is not None and entry.state == "failed"
