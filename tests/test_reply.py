"""Reply composition: every reply kind × language, threading, subject, safety of headers, forwards."""

from __future__ import annotations

import re
from datetime import date
from email import message_from_bytes, policy
from email.message import EmailMessage
from html import unescape
from pathlib import Path

import pytest

from orderd.records import Envelope, Language, Message, ReplyKind, Shortage
from orderd.reply import (
    Profile,
    ReplyContext,
    check_templates,
    compose_forward,
    compose_reply,
    format_money,
    language_for,
    reply_subject,
    sample_context,
    select_profile,
)
from orderd.understand.thread import order_name_from_message_id

ORIGINAL = (
    b"From: Anna Example <anna@customer.test>\r\nTo: orders@mycompany.test\r\n"
    b"Subject: Order for next week\r\nMessage-ID: <po-4410@customer.test>\r\n"
    b"References: <root@customer.test> <earlier@customer.test>\r\n"
    b"Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n\r\n20 x DC-1001\r\n"
)


def original(raw: bytes = ORIGINAL) -> Message:
    return Message.from_bytes(raw, Envelope(mail_from="anna@customer.test", rcpt_tos=("orders@mycompany.test",)))


def parse(raw: bytes) -> EmailMessage:
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def parts(msg: EmailMessage) -> tuple[str, str]:
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def html_text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("kind", list(ReplyKind))
def test_every_reply_kind_and_language(kind: ReplyKind, language: Language) -> None:
    ctx = sample_context(kind, language)
    mail = compose_reply(original(), ctx, from_addr="orders@mycompany.test", hostname="mx.mycompany.test")
    assert mail.kind == "reply" and mail.order_name == "S00042"
    assert mail.rcpt_tos == ["anna@customer.test"] and mail.mail_from == "orders@mycompany.test"
    msg = parse(mail.raw)
    assert msg["Subject"] == "[S00042] Re: Order for next week"
    assert msg["In-Reply-To"] == "<po-4410@customer.test>"
    assert msg["References"].split() == ["<root@customer.test>", "<earlier@customer.test>", "<po-4410@customer.test>"]
    assert msg["Auto-Submitted"] == "auto-replied"
    assert re.fullmatch(r"<orderd\.S00042\.[0-9a-f]{16}@mx\.mycompany\.test>", msg["Message-ID"])
    assert msg["Date"] and msg["Content-Language"] == language
    assert msg["To"].addresses[0].addr_spec == "anna@customer.test"
    assert msg.get_content_type() == "multipart/alternative"
    text, html = parts(msg)
    flat = html_text(html)
    assert f'lang="{language}"' in html
    for body in (text, flat):
        assert "S00042" in body
        assert "Anna Example" in body
        assert "{{" not in body and "{%" not in body
    # Text and HTML agree on what matters for each kind.
    if kind in ("confirmed", "shortage", "review", "unknown_product", "amended"):
        for body in (text, flat):
            assert "DC-1001" in body and "Aluminium housing" in body and "[DC-1001]" not in body
            assert "20" in body
            assert format_money(4002.0, "EUR", language).replace("\u00a0", " ") in body.replace("\u00a0", " ")
    if kind == "shortage":
        for body in (text, flat):
            assert "DC-1004" in body
            assert ("2.5" if language == "en" else "2,5") in body
    if kind == "unknown_product":
        for body in (text, flat):
            assert "titanium flange" in body and "DC-1005 Zinc flange 60 mm" in body
    if kind in ("confirmed", "cancelled"):
        for body in (text, flat):
            assert "PO-4410-A" in body


def test_no_order_subject_and_threading_without_references() -> None:
    raw = (b"From: bob@customer.test\r\nSubject: RE: Re: AW: question\r\nMessage-ID: <q1@customer.test>\r\n\r\n?\r\n")
    ctx = ReplyContext(kind=ReplyKind.RECEIVED, language="en", customer_name="", order_name=None)
    msg = parse(compose_reply(original(raw), ctx, from_addr="orders@mycompany.test", hostname="mx.test").raw)
    assert msg["Subject"] == "Re: question"
    assert msg["In-Reply-To"] == "<q1@customer.test>" and msg["References"] == "<q1@customer.test>"
    text, _ = parts(msg)
    assert text.startswith("Hello,")


def test_subject_does_not_stack() -> None:
    assert reply_subject("Re: [S00042] Re: Order", "S00042", "en") == "[S00042] Re: Order"
    assert reply_subject("Fwd: AW: Bestellung", "S00007", "de") == "[S00007] Re: Bestellung"
    assert reply_subject("Order [S00042] update", "S00042", "en") == "[S00042] Re: Order update"
    assert reply_subject("", "S00001", "fr") == "[S00001] Re: Votre commande"
    assert reply_subject("Réf : commande", None, "fr") == "Re: commande"


def test_reply_to_is_preferred_and_missing_message_id_is_not_threaded() -> None:
    raw = b"From: a@customer.test\r\nReply-To: Purchasing <buy@customer.test>\r\nSubject: x\r\n\r\n2 x DC-1\r\n"
    mail = compose_reply(original(raw), sample_context("confirmed", "en"), from_addr="orders@mycompany.test",
                         hostname="mx.test")
    msg = parse(mail.raw)
    assert mail.rcpt_tos == ["buy@customer.test"]
    assert msg["To"].addresses[0].display_name == "Purchasing"
    assert msg["In-Reply-To"] is None and msg["References"] is None


def test_header_injection_produces_no_extra_header() -> None:
    # A Subject folded across lines with an injection attempt, and a hostile customer name.
    raw = (b"From: \"Eve\" <eve@customer.test>\r\nSubject: Order\r\n =?utf-8?q?=0D=0ABcc=3A_victim=40x.test?=\r\n"
           b"Message-ID: <e1@customer.test>\r\n\r\n1 x DC-1001\r\n")
    ctx = sample_context("confirmed", "en")
    ctx.customer_name = "Eve\r\nBcc: victim@x.test\r\nX-Evil: 1"
    ctx.client_order_ref = "PO\r\nX-Evil: 2"
    ctx.order_name = "S00042\r\nX-Evil: 3"
    mail = compose_reply(original(raw), ctx, from_addr="orders@mycompany.test", hostname="mx.test\r\nX-Evil: 4")
    msg = parse(mail.raw)
    assert msg["Bcc"] is None and msg["X-Evil"] is None
    assert "victim@x.test" not in mail.rcpt_tos
    header_block = mail.raw.split(b"\r\n\r\n", 1)[0]
    for line in header_block.split(b"\r\n"):
        assert not line.lower().startswith((b"bcc:", b"x-evil:"))
    assert "\n" not in msg["Subject"] and "\r" not in msg["Subject"]


def test_html_is_escaped() -> None:
    ctx = sample_context("unknown_product", "en")
    ctx.customer_name = "<script>alert(1)</script>"
    ctx.unresolved = [{"text": "<img src=x onerror=alert(1)>", "qty": 1, "candidates": []}]
    _, html = parts(parse(compose_reply(original(), ctx, from_addr="o@m.test", hostname="m.test").raw))
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html


def test_operator_directory_overrides_a_file(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "confirmed.txt").write_text("Order {{ order_name }} is confirmed. Cheers!\n")
    mail = compose_reply(original(), sample_context("confirmed", "en"), from_addr="o@m.test", hostname="m.test",
                         templates_dir=str(tmp_path))
    text, html = parts(parse(mail.raw))
    assert text.strip() == "Order S00042 is confirmed. Cheers!"
    assert "Aluminium housing" in html  # the packaged HTML still applies


def test_template_cannot_escape_the_sandbox(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "received.txt").write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}\n")
    errors = check_templates(str(tmp_path))
    assert any("received.txt" in e and "SecurityError" in e for e in errors)


def test_check_templates_names_file_and_line(tmp_path: Path) -> None:
    assert check_templates("") == []
    (tmp_path / "fr").mkdir()
    (tmp_path / "fr" / "shortage.txt").write_text("Bonjour,\n\n{{ no_such_value }}\n")
    (tmp_path / "de").mkdir()
    (tmp_path / "de" / "review.html").write_text("<p>\n{% if %}\n</p>\n")
    errors = check_templates(str(tmp_path))
    assert len(errors) == 2
    assert any(re.search(r"fr/shortage\.txt:3: UndefinedError: 'no_such_value' is undefined", e) for e in errors)
    assert any(re.search(r"de/review\.html:2: ", e) for e in errors)


def test_profiles_customer_beats_category_beats_domain_beats_default() -> None:
    default = Profile(name="default")
    domain = Profile(name="domain", domains=("customer.test",))
    gold = Profile(name="gold", categories=("Gold",), bcc=("key-accounts@mycompany.test",))
    anna = Profile(name="anna", customers=("Anna@customer.test",), cc=("purchasing@customer.test",),
                   reply_to="sales@mycompany.test")
    profiles = [default, domain, gold, anna]
    assert select_profile(profiles, email="anna@customer.test", categories=["Gold"]).name == "anna"
    assert select_profile(profiles, email="bob@customer.test", categories=["gold"]).name == "gold"
    assert select_profile(profiles, email="bob@customer.test").name == "domain"
    assert select_profile(profiles, email="zoe@elsewhere.test").name == "default"
    assert select_profile([], email="zoe@elsewhere.test") == Profile()


def test_profile_applies_addresses_subject_and_template_set(tmp_path: Path) -> None:
    (tmp_path / "gold" / "en").mkdir(parents=True)
    (tmp_path / "gold" / "en" / "confirmed.txt").write_text("Gold service for {{ customer_name }}.\n")
    profile = Profile(name="gold", from_addr="gold@mycompany.test", reply_to="Key accounts <ka@mycompany.test>",
                      cc=("purchasing@customer.test",), bcc=("archive@mycompany.test",),
                      subject="[{{ order_name }}] Confirmation / {{ original_subject }}", template_set="gold")
    mail = compose_reply(original(), sample_context("confirmed", "en"), from_addr="orders@mycompany.test",
                         hostname="m.test", templates_dir=str(tmp_path), profile=profile)
    msg = parse(mail.raw)
    assert mail.mail_from == "gold@mycompany.test" and msg["From"] == "gold@mycompany.test"
    assert mail.rcpt_tos == ["anna@customer.test", "purchasing@customer.test", "archive@mycompany.test"]
    assert msg["Cc"] == "purchasing@customer.test" and msg["Bcc"] is None  # Bcc only in the envelope
    assert msg["Reply-To"].addresses[0].addr_spec == "ka@mycompany.test"
    assert msg["Subject"] == "[S00042] Confirmation / Order for next week"
    text, _ = parts(msg)
    assert text.strip() == "Gold service for Anna Example."


def test_language_for() -> None:
    assert language_for("fr_FR", "de", "en") == "fr"
    assert language_for("de_CH", None, "en") == "de"
    assert language_for("es_419", None, "en") == "es"
    assert language_for("it_IT", "es", "en") == "es"
    assert language_for(None, None, "fr") == "fr"
    assert language_for("pt_BR", "nl", "nl") == "en"


def test_localised_numbers_and_dates() -> None:
    ctx = sample_context("confirmed", "de")
    text, _ = parts(parse(compose_reply(original(), ctx, from_addr="o@m.test", hostname="m.test").raw))
    assert "1.234,00\u00a0€" in text and "12. Dezember 2026" in text
    ctx = sample_context("confirmed", "fr")
    ctx.commitment_date = date(2026, 8, 1)
    text, _ = parts(parse(compose_reply(original(), ctx, from_addr="o@m.test", hostname="m.test").raw))
    assert "1\u00a0234,00\u00a0€" in text and "1 août 2026" in text
    ctx = sample_context("confirmed", "es")
    ctx.shortages = [Shortage("DC-1004", 5, -2)]
    text, _ = parts(parse(compose_reply(original(), ctx, from_addr="o@m.test", hostname="m.test").raw))
    assert "12 de diciembre de 2026" in text


def test_forward_attaches_original_intact() -> None:
    raw = ("From: Bob <bob@customer.test>\r\nTo: orders@mycompany.test\r\nSubject: Question about prices\r\n"
           "Message-ID: <q2@customer.test>\r\nContent-Type: text/plain; charset=utf-8\r\n"
           "Content-Transfer-Encoding: 8bit\r\n\r\nDo you ship to Zürich?\r\n").encode()
    mail = compose_forward(original(raw), to_addr="sales@mycompany.test", from_addr="orders@mycompany.test",
                           hostname="mx.test", reason="question, not an order")
    assert mail.kind == "forward" and mail.rcpt_tos == ["sales@mycompany.test"]
    msg = parse(mail.raw)
    assert msg["Subject"] == "Fwd: Question about prices"
    assert msg["Reply-To"].addresses[0].addr_spec == "bob@customer.test"
    assert msg["Auto-Submitted"] == "auto-generated"
    attached = [p for p in msg.iter_attachments() if p.get_content_type() == "message/rfc822"]
    assert len(attached) == 1
    assert raw in mail.raw  # byte for byte
    inner = attached[0].get_content()
    assert inner["Message-ID"] == "<q2@customer.test>"
    note = msg.get_body(preferencelist=("plain",))
    assert note is not None and "question, not an order" in note.get_content()


def test_our_message_id_names_the_order() -> None:
    mail = compose_reply(original(), sample_context("confirmed", "en"), from_addr="o@m.test", hostname="mx.test")
    ours = parse(mail.raw)["Message-ID"]
    assert order_name_from_message_id(ours) == "S00042"
    assert order_name_from_message_id("<po-4410@customer.test>") is None
    assert order_name_from_message_id("<orderd.S00042.zz@evil.test> <x@y>") is None
