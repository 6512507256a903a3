"""Compose the email orderd sends about a message: the customer's reply, or a forward to a human.

Replies are rendered from Jinja2 templates in a sandbox (operators may edit them; a template must not
reach into Python), one per reply kind × language, as text with an HTML alternative. They are threaded
to the customer's message and marked `Auto-Submitted: auto-replied` (RFC 3834) so other robots do
not answer them. Nothing taken from the customer's message may become a header of its own: every
value placed in a header goes through `one_line()` first.
"""

from __future__ import annotations

import re
import secrets
import traceback
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses
from pathlib import Path
from typing import Any, ClassVar

from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, TemplateSyntaxError, pass_context
from jinja2.sandbox import SandboxedEnvironment

from orderd.config import Profile
from orderd.records import Language, Message, ReplyKind, Shortage
from orderd.store import OutgoingMail

_SMTP = policy.SMTP.clone(max_line_length=998)

# What to call the order when the customer's subject is empty.
_FALLBACK_SUBJECT = {"en": "Your order", "fr": "Votre commande", "de": "Ihre Bestellung", "es": "Su pedido"}

# Reply/forward prefixes mail clients add, in the languages orderd answers in (and a few more), so
# the subject says "Re:" once however long the thread is.
_PREFIXES = re.compile(
    r"^\s*(?:(?:re|aw|sv|vs|antw|rif|r|ref|réf|tr|fw|fwd|wg|enc|rv)\s*(?:\[\d+\]|\(\d+\))?\s*:\s*|\[S\d{5,}\]\s*)+",
    re.IGNORECASE,
)
_MSGID = re.compile(r"<[^<>\s]+@[^<>\s]+>")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")


@dataclass
class ReplyContext:
    kind: ReplyKind  # which template: the answer to a new order, or to a message about one
    language: str  # a Language
    customer_name: str
    order_name: str | None
    lines: list[dict[str, Any]] = field(default_factory=list)  # default_code, name, qty, price_unit, subtotal
    shortages: list[Shortage] = field(default_factory=list)
    unresolved: list[dict[str, Any]] = field(default_factory=list)  # text, qty, candidates ["CODE name"]
    unclear: list[dict[str, Any]] = field(default_factory=list)  # text, default_code, name: no sure quantity
    reasons: list[str] = field(default_factory=list)  # internal; templates may use them, packaged ones do not
    commitment_date: date | datetime | str | None = None
    client_order_ref: str | None = None
    amount_untaxed: float | None = None
    amount_tax: float | None = None
    amount_total: float | None = None
    currency: str | None = "EUR"
    salesperson: str | None = None
    company_name: str | None = None


def select_profile(profiles: list[Profile], *, email: str, categories: list[str] | None = None) -> Profile:
    """Customer beats category beats domain beats default (the first profile with no criteria)."""
    email = email.strip().lower()
    domain = email.rpartition("@")[2]
    wanted = {c.lower() for c in categories or []}
    for matches in (
        lambda p: email in {c.lower() for c in p.customers},
        lambda p: bool(wanted & {c.lower() for c in p.categories}),
        lambda p: domain in {d.lower().lstrip("@") for d in p.domains},
        lambda p: not (p.customers or p.categories or p.domains),
    ):
        for profile in profiles:
            if matches(profile):
                return profile
    return Profile()


def language_for(partner_lang: str | None, detected: str | None, default: str) -> str:
    """The partner's Odoo language, else the message's detected language, else the default."""
    for candidate in (partner_lang, detected, default):
        code = (candidate or "").strip().lower().replace("-", "_").split("_")[0]
        if code in tuple(Language):
            return code
    return "en"


def one_line(value: object) -> str:
    """A header-safe rendition: no CR, LF or other control characters, whitespace collapsed."""
    return " ".join(_CONTROL.sub(" ", str(value or "")).split())


def reply_subject(original_subject: str, order_name: str | None, language: str) -> str:
    rest = _PREFIXES.sub("", one_line(original_subject))
    if order_name:
        rest = " ".join(rest.replace(f"[{one_line(order_name)}]", " ").split())
    rest = rest or _FALLBACK_SUBJECT.get(language, _FALLBACK_SUBJECT["en"])
    prefix = f"[{one_line(order_name)}] " if order_name else ""
    return f"{prefix}Re: {rest}"


def reply_address(original: Message) -> tuple[str, str]:
    """(name, address) to answer: Reply-To when it names someone, else From, else the envelope sender."""
    for header in ("Reply-To", "From"):
        for name, addr in getaddresses([original.header(header)]):
            addr = one_line(addr)
            if "@" in addr and " " not in addr:
                return one_line(name), addr
    return "", one_line(original.envelope.mail_from)


def message_id(hostname: str, order_name: str | None = None) -> str:
    # The order name inside our Message-ID lets the thread stage map a customer's In-Reply-To back to
    # the order without a lookup (orderd.understand.thread reads this format); the random part keeps it unique.
    tag = re.sub(r"[^A-Za-z0-9]", "", order_name or "")
    token = secrets.token_hex(8)
    local = f"orderd.{tag}.{token}" if tag else f"orderd.{token}"
    return f"<{local}@{one_line(hostname) or 'localhost'}>"


def _threading(original: Message) -> tuple[str | None, str | None]:
    """(In-Reply-To, References) for an answer to `original` (RFC 5322 §3.6.4)."""
    own = _MSGID.findall(original.message_id or "")
    if not own:
        return None, None
    refs = _MSGID.findall(original.header("References")) or _MSGID.findall(original.header("In-Reply-To"))[:1]
    chain = [*refs, own[0]]
    if len(chain) > 10:  # keep the first (thread root) and the most recent ones
        chain = [chain[0], *chain[-9:]]
    return own[0], " ".join(chain)


def _address(name: str, addr: str) -> str:
    try:
        return str(Address(display_name=name, addr_spec=addr)) if name else addr
    except (ValueError, IndexError):
        return addr


def compose_reply(original: Message, ctx: ReplyContext, *, from_addr: str, hostname: str, templates_dir: str = "",
                  profile: Profile | None = None) -> OutgoingMail:
    if ctx.kind not in tuple(ReplyKind):
        raise ValueError(f"unknown reply kind {ctx.kind!r} (known: {', '.join(ReplyKind)})")
    profile = profile or Profile()
    language = language_for(ctx.language, None, "en")
    variables = template_variables(ctx, language, original_subject=original.subject)
    renderer = Renderer.for_directory(templates_dir)
    text = renderer.render(ctx.kind, language, "txt", variables, template_set=profile.template_set)
    html = renderer.render(ctx.kind, language, "html", variables, template_set=profile.template_set)
    if profile.subject:
        subject = one_line(renderer.render_string(profile.subject, variables))
    else:
        subject = reply_subject(original.subject, ctx.order_name, language)

    to_name, to_addr = reply_address(original)
    sender = one_line(profile.from_addr or from_addr)
    msg = EmailMessage(policy=_SMTP)
    msg["From"] = sender
    msg["To"] = _address(to_name or one_line(ctx.customer_name), to_addr)
    if profile.cc:
        msg["Cc"] = ", ".join(one_line(a) for a in profile.cc)
    if profile.reply_to:
        msg["Reply-To"] = one_line(profile.reply_to)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = message_id(hostname, ctx.order_name)
    in_reply_to, references = _threading(original)
    if in_reply_to and references:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = references
    msg["Auto-Submitted"] = "auto-replied"
    # Asks Exchange/Outlook not to send out-of-office or delivery receipts back: fewer loops to break.
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(text, subtype="plain", charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    msg["Content-Language"] = language  # after set_content(), which clears Content-* headers

    recipients = [to_addr, *(one_line(a) for a in profile.cc), *(one_line(a) for a in profile.bcc)]
    return OutgoingMail(mail_from=sender, rcpt_tos=_unique(recipients), raw=msg.as_bytes(policy=_SMTP),
                        kind="reply", order_name=ctx.order_name)


def compose_forward(original: Message, *, to_addr: str, from_addr: str, hostname: str, reason: str) -> OutgoingMail:
    """A non-order for a person: a short note on why, and the original attached intact (message/rfc822)."""
    sender_name, sender_addr = reply_address(original)
    subject = _PREFIXES.sub("", one_line(original.subject)) or "(no subject)"
    outer = EmailMessage(policy=_SMTP)
    outer["From"] = one_line(from_addr)
    outer["To"] = one_line(to_addr)
    # Answering the forward reaches the customer directly, not orderd.
    outer["Reply-To"] = _address(sender_name, sender_addr)
    outer["Subject"] = f"Fwd: {subject}"
    outer["Date"] = format_datetime(datetime.now(UTC))
    outer["Message-ID"] = message_id(hostname)
    if original.message_id and _MSGID.fullmatch(original.message_id.strip()):
        outer["References"] = original.message_id.strip()
    outer["Auto-Submitted"] = "auto-generated"
    outer["X-Orderd-Reason"] = one_line(reason)[:500]

    note = EmailMessage(policy=_SMTP)
    note.set_content(
        "orderd did not treat this message as an order and forwards it for a person to handle.\n\n"
        f"Reason: {one_line(reason)}\n"
        f"From: {_address(sender_name, sender_addr)}\n"
        f"Envelope sender: {one_line(original.envelope.mail_from)}\n"
        f"Subject: {one_line(original.subject)}\n"
        f"Message-ID: {one_line(original.message_id) or '(none)'}\n\n"
        "The original message is attached unchanged.\n",
        charset="utf-8",
    )
    raw = _multipart_with_original(outer, note, original.raw)
    return OutgoingMail(mail_from=one_line(from_addr), rcpt_tos=[one_line(to_addr)], raw=raw, kind="forward")


def _multipart_with_original(outer: EmailMessage, note: EmailMessage, original_raw: bytes) -> bytes:
    """Assemble multipart/mixed by hand so the original's bytes are attached exactly as received:
    re-serialising a parsed message can re-fold headers and re-encode parts (and break signatures)."""
    body = re.sub(rb"\r?\n", b"\r\n", original_raw)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    boundary = f"=_orderd_{secrets.token_hex(12)}"
    while boundary.encode() in body:
        boundary = f"=_orderd_{secrets.token_hex(12)}"
    outer["MIME-Version"] = "1.0"
    outer["Content-Type"] = f'multipart/mixed; boundary="{boundary}"'
    head = b"".join(_SMTP.fold_binary(name, value) for name, value in outer.items()) + b"\r\n"
    del note["MIME-Version"]
    encoding = "8bit" if any(b > 127 for b in body) else "7bit"
    parts = [
        b"This is a multi-part message in MIME format.\r\n",
        f"--{boundary}\r\n".encode(),
        note.as_bytes(policy=_SMTP),
        f"\r\n--{boundary}\r\n".encode(),
        (f"Content-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"original.eml\"\r\n"
         f"Content-Transfer-Encoding: {encoding}\r\n\r\n").encode(),
        body,
        f"\r\n--{boundary}--\r\n".encode(),
    ]
    return head + b"".join(parts)


def _unique(addresses: list[str]) -> list[str]:
    seen: set[str] = set()
    result = []
    for addr in addresses:
        if addr and addr.lower() not in seen:
            seen.add(addr.lower())
            result.append(addr)
    return result




# --- templates ----------------------------------------------------------------------------------

PACKAGED_TEMPLATES = Path(__file__).parent / "templates"

_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}
# (thousands, decimal) separators; a no-break space keeps French amounts on one line.
_SEPARATORS = {"en": (",", "."), "fr": ("\u00a0", ","), "de": (".", ","), "es": (".", ",")}
_MONTHS = {
    "en": ("January February March April May June July August September October November December"),
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
}
_DATE_FORMATS = {"en": "{d} {m} {y}", "fr": "{d} {m} {y}", "de": "{d}. {m} {y}", "es": "{d} de {m} de {y}"}


def format_number(value: float, language: str, decimals: int = 2) -> str:
    thousands, decimal = _SEPARATORS.get(language, _SEPARATORS["en"])
    text = f"{abs(value):,.{decimals}f}".replace(",", "\x00").replace(".", decimal).replace("\x00", thousands)
    return f"-{text}" if value < 0 else text


def format_money(value: float | None, currency: str | None, language: str) -> str:
    if value is None:
        return ""
    number = format_number(float(value), language)
    code = (currency or "").upper()
    symbol = _SYMBOLS.get(code, code)
    if language == "en" and code in _SYMBOLS:
        return f"-{symbol}{number[1:]}" if number.startswith("-") else f"{symbol}{number}"
    return f"{number}\u00a0{symbol}".strip()


def format_qty(value: float | None, language: str) -> str:
    if value is None:
        return "?"
    value = float(value)
    if value.is_integer():
        return format_number(value, language, 0)
    return format_number(value, language, 3).rstrip("0")


def format_date(value: date | datetime | str | None, language: str) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    day = value.date() if isinstance(value, datetime) else value
    months = _MONTHS.get(language, _MONTHS["en"]).split()
    fmt = _DATE_FORMATS.get(language, _DATE_FORMATS["en"])
    return fmt.format(d=day.day, m=months[day.month - 1], y=day.year)


def _num(value: Any) -> float | None:
    try:
        return None if value is None or value is False else float(value)
    except (TypeError, ValueError):
        return None


def _line(raw: dict[str, Any]) -> dict[str, Any]:
    code = str(raw.get("default_code") or "")
    name = str(raw.get("name") or raw.get("product_name") or "")
    # Odoo names order lines "[CODE] Product"; the templates show the code on its own.
    if code and name.startswith(f"[{code}]"):
        name = name[len(code) + 2:].strip()
    name = name.splitlines()[0] if name else ""
    return {"default_code": code, "name": name, "qty": _num(raw.get("qty", raw.get("product_uom_qty"))),
            "uom": str(raw.get("uom") or ""), "price_unit": _num(raw.get("price_unit")),
            "subtotal": _num(raw.get("subtotal", raw.get("price_subtotal")))}


def template_variables(ctx: ReplyContext, language: str, *, original_subject: str = "") -> dict[str, Any]:
    """Plain values for the templates: no live objects reach the sandbox."""
    lines = [_line(line) for line in ctx.lines]
    names = {line["default_code"]: line["name"] for line in lines}
    shortages = [
        {"default_code": s.default_code, "name": names.get(s.default_code, ""), "requested": s.requested,
         "available": max(0.0, s.available), "missing": max(0.0, s.requested - max(0.0, s.available))}
        for s in ctx.shortages
    ]
    unresolved = [
        {"text": one_line(u.get("text")), "qty": _num(u.get("qty")),
         "candidates": [one_line(c) for c in u.get("candidates") or []]}
        for u in ctx.unresolved
    ]
    unclear = [{"text": one_line(u.get("text")), "default_code": one_line(u.get("default_code")),
                "name": one_line(u.get("name"))} for u in ctx.unclear]
    return {
        # `outcome`: the name operators' own templates know the reply kind by
        "lang": language, "outcome": str(ctx.kind), "customer_name": one_line(ctx.customer_name),
        "order_name": ctx.order_name, "lines": lines, "shortages": shortages, "unresolved": unresolved,
        "unclear": unclear,
        "reasons": list(ctx.reasons), "commitment_date": ctx.commitment_date,
        "client_order_ref": one_line(ctx.client_order_ref) or None,
        "amount_untaxed": _num(ctx.amount_untaxed), "amount_tax": _num(ctx.amount_tax),
        "amount_total": _num(ctx.amount_total), "currency": ctx.currency or "",
        "salesperson": one_line(ctx.salesperson) or None, "company_name": one_line(ctx.company_name) or None,
        "original_subject": one_line(original_subject),
    }


@pass_context
def _money_filter(context: Any, value: float | None, currency: str | None = None) -> str:
    return format_money(value, currency if currency is not None else context.get("currency"), context.get("lang"))


@pass_context
def _qty_filter(context: Any, value: float | None) -> str:
    return format_qty(value, context.get("lang"))


@pass_context
def _date_filter(context: Any, value: date | datetime | str | None) -> str:
    return format_date(value, context.get("lang"))


class Renderer:
    """The sandboxed Jinja2 environment: an operator directory first, the packaged templates after it."""

    _cache: ClassVar[dict[str, Renderer]] = {}

    def __init__(self, templates_dir: str = "") -> None:
        self.templates_dir = templates_dir
        loaders = [FileSystemLoader(templates_dir)] if templates_dir else []
        loaders.append(FileSystemLoader(str(PACKAGED_TEMPLATES)))
        self.env = SandboxedEnvironment(
            loader=ChoiceLoader(loaders),
            # Escape everything in HTML: customer names and product text come from email.
            autoescape=lambda name: bool(name and name.endswith(".html")),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.env.filters.update(money=_money_filter, qty=_qty_filter, date=_date_filter)

    @classmethod
    def for_directory(cls, templates_dir: str = "") -> Renderer:
        # One environment per directory: Jinja caches compiled templates and reloads edited files.
        renderer = cls._cache.get(templates_dir)
        if renderer is None:
            renderer = cls._cache[templates_dir] = cls(templates_dir)
        return renderer

    def names(self, kind: str, language: str, ext: str, template_set: str = "") -> list[str]:
        names = [f"{template_set}/{language}/{kind}.{ext}"] if template_set else []
        return [*names, f"{language}/{kind}.{ext}"]

    def render(self, kind: str, language: str, ext: str, variables: dict[str, Any], *,
               template_set: str = "") -> str:
        template = self.env.select_template(self.names(kind, language, ext, template_set))
        return template.render(variables)

    def render_string(self, source: str, variables: dict[str, Any]) -> str:
        return self.env.from_string(source).render(variables)


def sample_context(kind: ReplyKind, language: str) -> ReplyContext:
    """Representative values for rendering every template (tests, `orderd check`)."""
    return ReplyContext(
        kind=kind, language=language, customer_name="Anna Example", order_name="S00042",
        lines=[{"default_code": "DC-1001", "name": "[DC-1001] Aluminium housing", "qty": 20, "price_unit": 12.5,
                "subtotal": 250.0},
               {"default_code": "DC-1004", "name": "Zinc flange 40 mm", "qty": 2.5, "price_unit": 1234.0,
                "subtotal": 3085.0}],
        shortages=[Shortage(default_code="DC-1004", requested=2.5, available=1.0)],
        unresolved=[{"text": "titanium flange", "qty": 3, "candidates": ["DC-1004 Zinc flange 40 mm",
                                                                        "DC-1005 Zinc flange 60 mm"]}],
        reasons=["sample"], commitment_date=date(2026, 12, 12), client_order_ref="PO-4410-A",
        amount_untaxed=3335.0, amount_tax=667.0, amount_total=4002.0, currency="EUR",
        salesperson="Marc Demo", company_name="Die-Cast Works",
    )


def check_templates(templates_dir: str = "", profiles: tuple[Profile, ...] | list[Profile] = ()) -> list[str]:
    """Render every reply kind × language × part with sample data; one "file:line: error" per failure.

    With profiles, each profile's template set and subject template are rendered too, so a mistake
    there is found by `orderd check` and at startup rather than by a customer's order."""
    if templates_dir and not Path(templates_dir).is_dir():
        return [f"{templates_dir}: templates.directory is not a directory"]
    renderer = Renderer(templates_dir)  # uncached: check what is on disk now
    errors: list[str] = []
    template_sets = ["", *dict.fromkeys(p.template_set for p in profiles if p.template_set)]
    for language in Language:
        for kind in ReplyKind:
            variables = template_variables(sample_context(kind, language), language, original_subject="Order")
            for ext in ("txt", "html"):
                for template_set in template_sets:
                    names = renderer.names(kind, language, ext, template_set)
                    try:
                        renderer.render(kind, language, ext, variables, template_set=template_set)
                    except TemplateSyntaxError as exc:
                        errors.append(f"{exc.filename or exc.name}:{exc.lineno}: {exc.message}")
                    except Exception as exc:  # undefined names, bad filters, sandbox refusals
                        errors.append(f"{_template_location(exc, names[0])}: {type(exc).__name__}: {exc}")
    for profile in profiles:
        if not profile.subject:
            continue
        variables = template_variables(sample_context("confirmed", "en"), "en", original_subject="Order")
        try:
            renderer.render_string(profile.subject, variables)
        except TemplateSyntaxError as exc:
            errors.append(f"profile {profile.name!r} subject:{exc.lineno}: {exc.message}")
        except Exception as exc:
            errors.append(f"profile {profile.name!r} subject: {type(exc).__name__}: {exc}")
    return list(dict.fromkeys(errors))  # a broken shared include would otherwise be named once per use


def _template_location(exc: BaseException, fallback: str) -> str:
    # Jinja rewrites tracebacks so template frames carry the template's file name and line.
    location = fallback
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.endswith((".txt", ".html")):
            location = f"{frame.filename}:{frame.lineno}"
    return location
