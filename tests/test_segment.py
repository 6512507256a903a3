"""Segmentation: only the new text is read. One case per mail-client shape and language: the order on
top is kept, the quoted or forwarded history and the signature are not."""

from __future__ import annotations

import pytest

from orderd.extract.text import clean_body, split_inline_forward

NEW = "Please add 7 x DC-1004."
OLD = "10 x DC-1002 confirmed"

QUOTE_HEADERS = {
    "gmail en": "On Mon, 23 Nov 2026 at 10:00, Orders <orders@mycompany.test> wrote:",
    "gmail fr": "Le lun. 23 nov. 2026 à 10:00, Orders <orders@mycompany.test> a écrit :",
    "gmail de": "Am Mo., 23. Nov. 2026 um 10:00 Uhr schrieb Orders <orders@mycompany.test>:",
    "gmail es": "El lun, 23 nov 2026 a las 10:00, Orders (<orders@mycompany.test>) escribió:",
    "apple en": "On 23 Nov 2026, at 10:00, Orders <orders@mycompany.test> wrote:",
    "thunderbird": "On 23/11/2026 10:00, Orders wrote:",
    "outlook en": "From: Orders <orders@mycompany.test>\nSent: Monday, November 23, 2026 10:00 AM\n"
                  "To: Claire Martin\nSubject: RE: Order",
    "outlook fr": "De : Orders <orders@mycompany.test>\nEnvoyé : lundi 23 novembre 2026 10:00\nÀ : Claire Martin\n"
                  "Objet : RE: Commande",
    "outlook de": "Von: Orders <orders@mycompany.test>\nGesendet: Montag, 23. November 2026 10:00\nAn: Jonas Weber\n"
                  "Betreff: AW: Bestellung",
    "outlook es": "De: Orders <orders@mycompany.test>\nEnviado: lunes, 23 de noviembre de 2026 10:00\n"
                  "Para: Lucía Fernández\nAsunto: RE: Pedido",
    "original en": "-----Original Message-----",
    "original fr": "-----Message d'origine-----",
    "original de": "-----Ursprüngliche Nachricht-----",
    "original es": "-----Mensaje original-----",
}


@pytest.mark.parametrize("shape", sorted(QUOTE_HEADERS))
@pytest.mark.parametrize("quote_marks", [True, False])
def test_quoted_history_is_not_new_text(shape: str, quote_marks: bool) -> None:
    old = f"> {OLD}" if quote_marks else OLD
    text = clean_body(f"Hello,\n\n{NEW}\n\n{QUOTE_HEADERS[shape]}\n\n{old}\n")
    assert NEW in text
    assert "DC-1002" not in text


@pytest.mark.parametrize("signature", [
    "Sent from my iPhone", "Envoyé de mon iPhone", "Von meinem Samsung Galaxy Smartphone gesendet",
    "Enviado desde mi iPhone", "-- \nClaire Martin\nTél. 04 78 12 34 56", "Best regards,\nAnn\n+44 20 7946 0999",
    "Mit freundlichen Grüßen\nJonas Weber\nHRB 12345, USt-IdNr. DE123456789",
    "Cordialement,\nClaire\nSIRET 123 456 789 00012",
    "Un saludo,\nLucía\nCIF B12345678 - Tel. 93 123 45 67",
    "This e-mail and any attachments are confidential and intended solely for the addressee. 12 3 45",
])
def test_signatures_and_disclaimers_are_not_new_text(signature: str) -> None:
    text = clean_body(f"Hello,\n\n{NEW}\n\n{signature}\n")
    assert NEW in text
    assert signature.splitlines()[-1] not in text


@pytest.mark.parametrize("marker", [
    "---------- Forwarded message ---------",
    "---------- Message transféré ---------",
    "---------- Weitergeleitete Nachricht ---------",
    "---------- Mensaje reenviado ---------",
    "Begin forwarded message:",
    "Début du message réexpédié :",
    "-----Original Message-----",
])
def test_inline_forward_names_the_original_sender(marker: str) -> None:
    text = (f"FYI, please book this one.\n\n{marker}\nFrom: Ann Buyer <ann@acme.example>\n"
            "Date: Mon, 23 Nov 2026 10:00\nSubject: Order\nTo: Paul <paul@mycompany.test>\n\n5 x DC-1001\n")
    forward = split_inline_forward(text)
    assert forward is not None
    assert forward.sender_email == "ann@acme.example"
    assert "5 x DC-1001" in forward.body and "FYI" in forward.note
