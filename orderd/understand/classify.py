"""Classify: is this mail from a person who may be ordering, or a robot, a bounce, a list, a threat?

Pure function over the parsed message. A non-order is never answered automatically (RFC 3834);
the pipeline records it, and forwards mail from people to a human.
"""

from __future__ import annotations

import re

from orderd.records import Classification, Message

_AUTO_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response)|out of (the )?office|autoreply|abwesenheitsnotiz|"
    r"automatische antwort|réponse automatique|absent\b|respuesta automática|fuera de la oficina|"
    r"vacation|on leave)",
    re.IGNORECASE,
)
_BOUNCE_LOCALPART = re.compile(r"^(mailer-daemon|postmaster)([+.-].*)?$", re.IGNORECASE)
_ROBOT_LOCALPART = re.compile(r"^(no-?reply|do-?not-?reply|bounces?|notifications?)([+.-].*)?$", re.IGNORECASE)
# Extensions of files that run code when opened; such mail is quarantined, never forwarded.
EXECUTABLE_EXTENSIONS = frozenset(
    (".exe", ".com", ".bat", ".cmd", ".scr", ".pif", ".msi", ".msp", ".vbs", ".vbe", ".js", ".jse", ".wsf",
     ".wsh", ".ps1", ".jar", ".hta", ".cpl", ".lnk", ".dll", ".reg")
)


def classify(message: Message, *, trusted_authserv_ids: tuple[str, ...] = (),
             own_addresses: tuple[str, ...] = ()) -> Classification:
    """own_addresses: orderd's own addresses (and `@domain`s), lower case; mail from them is a loop."""
    authenticated = authentication_verdict(message, trusted_authserv_ids)
    kind, reason = _kind(message, own_addresses)
    machine_made = message.header("Auto-Submitted").strip().lower().startswith("auto-generated")
    return Classification(kind=kind, reason=reason, authenticated=authenticated,
                          machine_made=machine_made and kind == "candidate")


# Caps on MIME structure: real orders have a handful of parts; a bomb of nested multiparts is an attack
# on the parser, never an order.
MAX_MIME_PARTS = 500
MAX_MIME_DEPTH = 20


def _kind(message: Message, own_addresses: tuple[str, ...] = ()) -> tuple[str, str]:
    shape = mime_shape_problem(message)
    if shape:
        return "quarantine", shape
    executable = _executable_attachment(message)
    if executable:
        return "quarantine", f"carries an executable attachment ({executable})"
    content_type = message.parsed.get_content_type()
    envelope_sender = message.envelope.mail_from.strip("<>")
    localpart = message.sender_email.split("@", 1)[0]
    if content_type == "multipart/report" or (not envelope_sender and message.envelope.rcpt_tos):
        return "bounce", "delivery status notification"
    if _BOUNCE_LOCALPART.match(localpart):
        return "bounce", f"sent by {message.sender_email}"
    for address in (message.sender_email, envelope_sender.lower()):
        # Our own reply coming back (a forwarding rule, a misrouted copy): answering it would answer
        # ourselves, forever.
        if address and (address in own_addresses or "@" + address.rpartition("@")[2] in own_addresses):
            return "loop", f"sent from orderd's own address {address}"
    auto_submitted = message.header("Auto-Submitted").strip().lower()
    if auto_submitted and auto_submitted != "no" and not auto_submitted.startswith("auto-generated"):
        # auto-replied (and the like): a robot answering; auto-generated mail (an ERP's purchase order,
        # an EDI or portal message) is read like any other, and never answered (classify's caller)
        return "auto_reply", f"Auto-Submitted: {auto_submitted}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        if message.header(name):
            return "auto_reply", f"{name} header"
    if _AUTO_SUBJECT.match(message.subject):
        return "auto_reply", f"subject looks automatic: {message.subject!r}"
    if message.header("List-Id") or message.header("List-Unsubscribe"):
        return "list", "mailing-list headers"
    precedence = message.header("Precedence").strip().lower()
    if precedence in ("bulk", "list", "junk"):
        return "list", f"Precedence: {precedence}"
    if _ROBOT_LOCALPART.match(localpart):
        return "auto_reply", f"sent by {message.sender_email}"
    return "candidate", ""


def is_robot_address(address: str) -> bool:
    """noreply@, MAILER-DAEMON@, postmaster@, bounces@…: addresses no person reads and no reply should go to."""
    localpart = address.strip().lower().rpartition("@")[0]
    return bool(_BOUNCE_LOCALPART.match(localpart) or _ROBOT_LOCALPART.match(localpart))


def mime_shape_problem(message: Message) -> str | None:
    """Why the MIME tree is too large or too deep to open, or None. Iterative: no recursion to exhaust."""
    stack = [(message.parsed, 1)]
    parts = 0
    while stack:
        part, depth = stack.pop()
        parts += 1
        if parts > MAX_MIME_PARTS:
            return f"more than {MAX_MIME_PARTS} MIME parts"
        if depth > MAX_MIME_DEPTH:
            return f"MIME parts nested deeper than {MAX_MIME_DEPTH} levels"
        if part.is_multipart():
            payload = part.get_payload()
            if isinstance(payload, list):
                stack.extend((child, depth + 1) for child in payload)
    return None


def _executable_attachment(message: Message) -> str | None:
    for part in message.parsed.walk():
        filename = part.get_filename() or ""
        lowered = filename.lower()
        if any(lowered.endswith(ext) for ext in EXECUTABLE_EXTENSIONS):
            return filename
        if part.get_content_type() in ("application/x-msdownload", "application/x-msdos-program",
                                       "application/x-dosexec"):
            return filename or part.get_content_type()
    return None


_RESULT = re.compile(r"\b(dmarc|dkim|spf)\s*=\s*([a-z]+)", re.IGNORECASE)


def authentication_verdict(message: Message, trusted_authserv_ids: tuple[str, ...]) -> bool | None:
    """True when a trusted upstream saw DMARC (else DKIM or SPF) pass, False on fail, None when unknown.

    Only Authentication-Results headers added by our own border (its authserv-id is trusted) count:
    a sender can write any such header itself.
    """
    if not trusted_authserv_ids:
        return None
    trusted = {t.lower() for t in trusted_authserv_ids}
    for value in message.parsed.get_all("Authentication-Results") or []:
        text = str(value)
        authserv_id = text.split(";", 1)[0].strip().split()[0].lower() if text.strip() else ""
        if authserv_id not in trusted:
            continue
        results = {method.lower(): verdict.lower() for method, verdict in _RESULT.findall(text)}
        for method in ("dmarc", "dkim", "spf"):
            if method in results:
                return results[method] == "pass"
    return None
