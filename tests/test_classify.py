"""Classify and thread: which mail may be an order, which is a robot, which is about an existing order."""

from __future__ import annotations

from orderd.records import Envelope, Message
from orderd.understand.classify import classify
from orderd.understand.thread import thread


def _message(headers: str, body: str = "Please send 2 x DC-1001.\n", mail_from: str = "buyer@example.com") -> Message:
    raw = (headers.strip() + "\nMessage-ID: <m1@example.com>\n\n" + body).replace("\n", "\n").encode()
    return Message.from_bytes(raw, Envelope(mail_from=mail_from, rcpt_tos=("orders@mycompany.test",)))


def test_an_order_from_a_person_is_a_candidate() -> None:
    result = classify(_message("From: Buyer <buyer@example.com>\nSubject: Order"))
    assert result.kind == "candidate"
    assert result.answerable


def test_auto_submitted_is_an_auto_reply() -> None:
    result = classify(_message("From: buyer@example.com\nSubject: Re: [S00001] Order\nAuto-Submitted: auto-replied"))
    assert result.kind == "auto_reply"
    assert not result.answerable


def test_auto_generated_mail_is_read_but_never_answered() -> None:
    """An ERP's or a portal's purchase order carries Auto-Submitted: auto-generated (RFC 3834)."""
    result = classify(_message("From: sap-po@buyer.example\nSubject: Purchase order 4500012345\n"
                               "Auto-Submitted: auto-generated"))
    assert result.kind == "candidate" and result.machine_made
    assert not result.answerable


def test_auto_submitted_no_is_a_person() -> None:
    assert classify(_message("From: buyer@example.com\nSubject: Order\nAuto-Submitted: no")).kind == "candidate"


def test_out_of_office_subjects_in_four_languages() -> None:
    for subject in ("Out of Office: Order", "Abwesenheitsnotiz: Bestellung", "Réponse automatique : commande",
                    "Respuesta automática: pedido", "Automatic reply: your order"):
        assert classify(_message(f"From: buyer@example.com\nSubject: {subject}")).kind == "auto_reply", subject


def test_bounces_by_report_type_and_by_null_sender() -> None:
    report = _message("From: MAILER-DAEMON@mx.example.com\nSubject: Undelivered Mail\n"
                      "Content-Type: multipart/report; report-type=delivery-status; boundary=b",
                      "--b\nContent-Type: text/plain\n\nfailed\n--b--\n", mail_from="")
    assert classify(report).kind == "bounce"
    null_sender = _message("From: someone@example.com\nSubject: hello", mail_from="")
    assert classify(null_sender).kind == "bounce"


def test_lists_and_bulk_are_not_answered() -> None:
    assert classify(_message("From: news@example.com\nSubject: News\nList-Id: <news.example.com>")).kind == "list"
    assert classify(_message("From: news@example.com\nSubject: News\nPrecedence: bulk")).kind == "list"


def test_executable_attachment_is_quarantined() -> None:
    body = ("--b\nContent-Type: text/plain\n\nSee the order attached\n--b\n"
            "Content-Type: application/octet-stream\nContent-Disposition: attachment; filename=\"order.exe\"\n"
            "Content-Transfer-Encoding: base64\n\nTVqQAAMAAAAEAAAA\n--b--\n")
    result = classify(_message("From: buyer@example.com\nSubject: Order\nMIME-Version: 1.0\n"
                               "Content-Type: multipart/mixed; boundary=b", body))
    assert result.kind == "quarantine"
    assert "order.exe" in result.reason


def test_authentication_results_count_only_from_our_own_border() -> None:
    forged = _message("From: buyer@example.com\nSubject: Order\n"
                      "Authentication-Results: evil.example; dmarc=pass header.from=example.com")
    assert classify(forged, trusted_authserv_ids=("mx.mycompany.test",)).authenticated is None
    failing = _message("From: buyer@example.com\nSubject: Order\n"
                       "Authentication-Results: mx.mycompany.test; spf=pass; dkim=fail; dmarc=fail")
    assert classify(failing, trusted_authserv_ids=("mx.mycompany.test",)).authenticated is False
    passing = _message("From: buyer@example.com\nSubject: Order\n"
                       "Authentication-Results: mx.mycompany.test; dkim=pass header.d=example.com")
    assert classify(passing, trusted_authserv_ids=("mx.mycompany.test",)).authenticated is True


def test_thread_by_subject_reference_with_commands() -> None:
    ref = thread(_message("From: buyer@example.com\nSubject: Re: [S00042] Your order", "Cancel: yes\n\nThanks\n"))
    assert ref.order_ref == "S00042"
    assert ref.commands == ("cancel: yes",)


def test_thread_by_in_reply_to_a_message_orderd_sent() -> None:
    sent = {"<reply-1@mx.mycompany.test>": "S00007"}
    msg = _message("From: buyer@example.com\nSubject: Re: your order\nIn-Reply-To: <reply-1@mx.mycompany.test>")
    assert thread(msg, sent.get).order_ref == "S00007"
    assert thread(_message("From: buyer@example.com\nSubject: New order")).order_ref is None
