"""Thread: is this message about an order that already exists?

The order reference in the subject (`[S00042]`, as orderd's replies carry it) or an In-Reply-To /
References header naming a Message-ID orderd sent. A command in the first lines of the body
(`Cancel: yes`, Tiny ERP style) is read here too; acting on it is the existing-order flow's job.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from orderd.records import Message, ThreadRef

ORDER_REF = re.compile(r"\[(S\d{5,})\]")
# Only the commands orderd acts on: one it would ignore must not read as accepted.
_COMMAND = re.compile(r"^\s*(cancel)\s*:\s*(.+?)\s*$", re.IGNORECASE)
_REFERENCE_IDS = re.compile(r"<[^<>\s]+>")
# orderd's own Message-IDs (orderd.reply.message_id() writes them) carry the order's name.
_OWN_MSGID = re.compile(r"<orderd\.(S\d{5,})\.[0-9a-f]+@[^<>\s]+>")


def order_name_from_message_id(value: str) -> str | None:
    """The order named in a Message-ID orderd generated; None for anything else.

    Synchronous and storeless, so the thread stage can use it in a worker thread."""
    match = _OWN_MSGID.fullmatch(value.strip())
    return match.group(1) if match else None


_OWN_MSGID_ANYWHERE = re.compile(rb"<orderd\.(S\d{5,})\.[0-9a-f]+@[^<>\s]+>")


def orders_named_in(raw: bytes) -> list[str]:
    """Orders named by orderd Message-IDs anywhere in a message: a bounce carries our reply's headers
    in its report part, not in its own In-Reply-To."""
    return list(dict.fromkeys(m.group(1).decode() for m in _OWN_MSGID_ANYWHERE.finditer(raw)))


def thread(message: Message, order_for_message_id: Callable[[str], str | None] | None = None) -> ThreadRef:
    """order_for_message_id maps a Message-ID orderd sent to its order's name."""
    match = ORDER_REF.search(message.subject)
    order_ref = match.group(1) if match else None
    if order_ref is None and order_for_message_id is not None:
        refs = message.header("In-Reply-To") + " " + message.header("References")
        for message_id in reversed(_REFERENCE_IDS.findall(refs)):
            order_ref = order_for_message_id(message_id)
            if order_ref:
                break
    commands: list[str] = []
    if order_ref:
        commands = _commands(message)
    return ThreadRef(order_ref=order_ref, commands=tuple(commands))


def _commands(message: Message) -> list[str]:
    body = message.parsed.get_body(preferencelist=("plain",))
    if body is None:
        return []
    try:
        text = body.get_content()
    except (LookupError, ValueError):
        return []
    commands = []
    for line in text.splitlines()[:10]:
        match = _COMMAND.match(line)
        if match:
            commands.append(f"{match.group(1).lower()}: {match.group(2)}")
        elif line.strip():
            break  # commands only count at the very top, before the customer's prose
    return commands
