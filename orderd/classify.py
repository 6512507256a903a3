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


def classify(message: Message, *, trusted_authserv_ids: tuple[str, ...] = ()) -> Classification:
    authenticated = authentication_verdict(message, trusted_authserv_ids)
    kind, reason = _kind(message)
    return Classification(kind=kind, reason=reason, authenticated=authenticated)


def _kind(message: Message) -> tuple[str, str]:
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
    auto_submitted = message.header("Auto-Submitted").strip().lower()
    if auto_submitted and auto_submitted != "no":
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
