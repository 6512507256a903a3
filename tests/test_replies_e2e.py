"""Replies over real SMTP: customer → orderd → Odoo simulator, and orderd's answers → the relay sink.

Every outcome in every language, profiles (customer > category > domain > default), the durable
outbox against a relay that defers, refuses and restarts, loop and backscatter cases, non-orders
forwarded to a person, the archive on the order's chatter, and broken templates refused at start.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import os
import re
import subprocess
import sys
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid
from html import unescape
from pathlib import Path

import aiohttp
import aiosmtplib
import pytest
from conftest import ORDER_ADDRESS, ROOT, odoo_search_read, order_email, smtp_send, wait_for

from odoosim import RunningSim
from orderd import config as config_mod
from orderd.app import App
from orderd.config import Config, ConfigError
from orderd_dev.sink import RunningSink

CUSTOMERS = {  # address → (display name, the language of its partner in fixtures/catalog.json)
    "jane.doe@orion-electronics.com": ("Jane Doe", "en"),
    "customer2@example.com": ("Claire Martin", "fr"),
    "j.weber@hartmann-pumpen.de": ("Jonas Weber", "de"),
    "lucia.fernandez@iberiavalves.es": ("Lucía Fernández", "es"),
}
# One body per outcome, chosen against the catalog's stock: DC-1009 has 1000, DC-1014 only 5.
OUTCOME_MAILS = {
    "confirmed": ("Please deliver 2 x DC-1009.", {}),
    "shortage": ("Please deliver 50 x DC-1014.", {}),
    "unknown_product": ("Please deliver 3 x DC-9999 and 2 x DC-1002.", {}),
    # Our own border saw DMARC fail: never confirmed, a person reviews it (policy.unauthenticated).
    "review": ("Please deliver 2 x DC-1007.",
               {"Authentication_Results": "mx.mycompany.test; dmarc=fail header.from=example.com"}),
}


def parse(raw: bytes) -> EmailMessage:
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def sent(relay: RunningSink) -> list[tuple[list[str], EmailMessage]]:
    """(envelope recipients, message) for everything the relay accepted so far."""
    return [(list(envelope.rcpt_tos), parse(raw)) for envelope, raw in list(relay.messages)]


def replies_to(relay: RunningSink, message_id: str) -> list[EmailMessage]:
    return [msg for _rcpt, msg in sent(relay) if str(msg.get("In-Reply-To", "")).strip() == message_id]


def mail_to(relay: RunningSink, address: str) -> list[EmailMessage]:
    return [msg for rcpt, msg in sent(relay) if address in [r.lower() for r in rcpt]]


def order_name(smtp_text: str) -> str:
    match = re.search(r"\bas (S\d{5,})", smtp_text)
    assert match, smtp_text
    return match.group(1)


def bodies(msg: EmailMessage) -> tuple[str, str]:
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert text is not None and html is not None, "a reply has a text part and an HTML alternative"
    return text.get_content(), html.get_content()


def _qty(text: str) -> float:
    return float(text.replace("\u00a0", "").replace(" ", "").replace(".", "").replace(",", "."))


def text_lines(text: str) -> dict[str, float]:
    """Order lines as the text part lists them: "  - 2 x DC-1009 …"."""
    return {code: _qty(qty) for qty, code in re.findall(r"^\s*- ([\d.,\u00a0]+) x (DC-\d{4})\b", text, re.M)}


def html_lines(html: str) -> dict[str, float]:
    """Order lines as the HTML table lists them: code, product, qty, unit price, subtotal."""
    row = r"<td>(DC-\d{4})</td><td>[^<]*</td><td[^>]*>([^<]+)</td><td[^>]*>[^<]*</td><td[^>]*>[^<]*</td>\s*</tr>"
    return {code: _qty(unescape(qty)) for code, qty in re.findall(row, html)}


async def send_as(port: int, address: str, body: str, *, subject: str = "Order", **headers: str) -> tuple[str, str]:
    """Send an order from `address`; return (its Message-ID, the order name orderd answered with)."""
    name = CUSTOMERS.get(address, ("", ""))[0]
    message_id = make_msgid("t", domain=address.split("@")[1])
    raw = order_email(body, sender=f"{name} <{address}>" if name else address, subject=subject,
                      message_id=message_id, **headers)
    code, text = await smtp_send(port, raw, sender=address)
    assert code == 250, text
    return message_id, order_name(text)


async def quiet(relay: RunningSink, seconds: float = 0.8) -> int:
    """How many messages the relay holds once nothing new has arrived for a while."""
    count = -1
    while count != len(relay.messages):
        count = len(relay.messages)
        await asyncio.sleep(seconds)
    return count


def orderd_cli(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "orderd.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **env}, cwd=ROOT)


# --- every outcome × every language -----------------------------------------------------------


async def test_each_outcome_in_each_language_is_delivered_threaded_and_both_parts_agree(
    orderd: App, odoo_sim: RunningSim, relay: RunningSink
) -> None:
    seen_texts: dict[tuple[str, str], str] = {}
    for address, (_name, language) in CUSTOMERS.items():
        for outcome, (body, headers) in OUTCOME_MAILS.items():
            message_id, name = await send_as(orderd.smtp_port, address, body, **headers)
            assert await wait_for(lambda mid=message_id: bool(replies_to(relay, mid))), (address, outcome)
            [reply] = replies_to(relay, message_id)
            where = f"{outcome}/{language}"
            assert reply["Content-Language"] == language, where
            assert f"[{name}]" in reply["Subject"], where
            assert message_id in reply["References"].split(), where
            assert reply["Auto-Submitted"] == "auto-replied"
            assert address in reply["To"]
            text, html = bodies(reply)
            assert name in text and name in html, where
            lines_text, lines_html = text_lines(text), html_lines(html)
            assert lines_text == lines_html, f"{where}: text and HTML list different lines"
            [order] = await odoo_search_read(odoo_sim.url, "sale.order", [["name", "=", name]], ["state"])
            if outcome == "confirmed":
                assert order["state"] == "sale" and lines_text == {"DC-1009": 2.0}, where
            else:
                assert order["state"] == "draft", where  # never confirm a guess
            if outcome == "shortage":
                assert lines_text == {"DC-1014": 50.0}, where
                assert re.search(r"\b50\b", text) and re.search(r"\b5\b", text), where  # requested, available
                assert re.search(r">50<", html) and re.search(r">5<", html), where
            if outcome == "unknown_product":
                assert lines_text == {"DC-1002": 2.0}, where
                assert "DC-9999" in text and "DC-9999" in html, where  # the customer's words, quoted
            if outcome == "review":
                assert lines_text == {"DC-1007": 2.0}, where
            seen_texts[(language, outcome)] = text
    # Four outcomes really are four different answers in every language (numbers aside).
    for _name, language in CUSTOMERS.values():
        answers = {re.sub(r"\d", "", seen_texts[(language, o)]) for o in OUTCOME_MAILS}
        assert len(answers) == len(OUTCOME_MAILS), language


# --- profiles -------------------------------------------------------------------------------


PROFILES_TOML = """
[[profiles]]
name = "default"
bcc = ["all-replies@mycompany.test"]

[[profiles]]
name = "germany"
domains = ["hartmann-pumpen.de"]
from = "vertrieb@mycompany.test"
cc = ["de-team@mycompany.test"]

[[profiles]]
name = "gold"
categories = ["Gold"]
from = "gold@mycompany.test"
reply_to = "gold-desk@mycompany.test"
bcc = ["gold-archive@mycompany.test"]
template_set = "gold"

[[profiles]]
name = "rhone-vip"
customers = ["customer1@example.com"]
from = "vip@mycompany.test"
reply_to = "account-manager@mycompany.test"
cc = ["account-manager@mycompany.test"]
bcc = ["vip-archive@mycompany.test"]
subject = "[{{ order_name }}] Priority confirmation"
"""


def _gold_templates(directory: Path) -> None:
    for ext, line in (("txt", "{% for line in lines %}  - {{ line.qty|qty }} x {{ line.default_code }}\n{% endfor %}"),
                      ("html", "<table>{% for line in lines %}<tr><td>{{ line.default_code }}</td><td>{{ line.name }}"
                               "</td><td>{{ line.qty|qty }}</td><td></td><td></td>\n</tr>{% endfor %}</table>")):
        path = directory / "gold" / "fr" / f"confirmed.{ext}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"GOLD {{{{ order_name }}}}\n{line}\n", encoding="utf-8")


async def test_profile_selection_customer_beats_category_beats_domain_beats_default(
    tmp_path: Path, make_config: Callable[..., Config], relay: RunningSink
) -> None:
    (tmp_path / "p.toml").write_text(PROFILES_TOML, encoding="utf-8")
    _gold_templates(tmp_path / "templates")
    profiles = config_mod.load(tmp_path / "p.toml", {}).profiles
    cfg = make_config(templates={"directory": str(tmp_path / "templates")})
    app = App(dataclasses.replace(cfg, profiles=profiles))
    await app.start()
    try:
        cases = {
            # customer1@example.com is listed by address AND its company is Gold: the address wins.
            "customer1@example.com": "rhone-vip",
            # A contact of the Gold company: the category comes from its company.
            "customer2@example.com": "gold",
            "purchasing@northwind-tools.co.uk": "gold",
            "j.weber@hartmann-pumpen.de": "germany",
            "jane.doe@orion-electronics.com": "default",
        }
        got: dict[str, tuple[list[str], EmailMessage, str]] = {}
        for address in cases:
            message_id, name = await send_as(app.smtp_port, address, "Please deliver 2 x DC-1009.")
            assert await wait_for(lambda mid=message_id: bool(replies_to(relay, mid)))
            [(rcpt, reply)] = [(r, m) for r, m in sent(relay) if str(m.get("In-Reply-To", "")) == message_id]
            got[address] = (rcpt, reply, name)
    finally:
        await app.stop()

    rcpt, reply, name = got["customer1@example.com"]
    assert reply["Subject"] == f"[{name}] Priority confirmation"
    assert reply["From"] == "vip@mycompany.test" and reply["Reply-To"] == "account-manager@mycompany.test"
    assert reply["Cc"] == "account-manager@mycompany.test"
    assert sorted(rcpt) == sorted(["customer1@example.com", "account-manager@mycompany.test",
                                   "vip-archive@mycompany.test"])
    for address in ("customer2@example.com", "purchasing@northwind-tools.co.uk"):
        rcpt, reply, name = got[address]
        assert reply["From"] == "gold@mycompany.test" and reply["Reply-To"] == "gold-desk@mycompany.test"
        assert sorted(rcpt) == sorted([address, "gold-archive@mycompany.test"])
        assert reply["Cc"] is None
    # The gold template set overrides French confirmations; English falls back to the generic ones.
    text, html = bodies(got["customer2@example.com"][1])
    assert text.startswith(f"GOLD {got['customer2@example.com'][2]}") and html_lines(html) == {"DC-1009": 2.0}
    assert not bodies(got["purchasing@northwind-tools.co.uk"][1])[0].startswith("GOLD")
    rcpt, reply, _name = got["j.weber@hartmann-pumpen.de"]
    assert reply["From"] == "vertrieb@mycompany.test" and reply["Cc"] == "de-team@mycompany.test"
    assert reply["Reply-To"] is None
    assert sorted(rcpt) == sorted(["j.weber@hartmann-pumpen.de", "de-team@mycompany.test"])
    rcpt, reply, _name = got["jane.doe@orion-electronics.com"]
    assert reply["From"] == "orders@mycompany.test"
    assert sorted(rcpt) == sorted(["jane.doe@orion-electronics.com", "all-replies@mycompany.test"])
    for _rcpt, reply, _name in got.values():
        assert reply["Bcc"] is None, "Bcc goes in the envelope only"


def test_profiles_in_configuration_are_validated_by_name(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('[[profiles]]\nname = "a"\ndomains = ["a.test"]\n[[profiles]]\nname = "b"\nccc = ["x@y.test"]\n')
    with pytest.raises(ConfigError, match=r"profiles\[2\]\.ccc"):
        config_mod.load(path, {})
    path.write_text('[[profiles]]\nname = "a"\ncustomers = ["not an address"]\n')
    with pytest.raises(ConfigError, match=r"profiles\[1\]\.customers"):
        config_mod.load(path, {})
    path.write_text('[[profiles]]\nname = "a"\ncc = "x@y.test"\n')
    with pytest.raises(ConfigError, match=r"profiles\[1\]\.cc must be a list"):
        config_mod.load(path, {})
    path.write_text('[[profiles]]\nname = "a"\ntemplate_set = "../etc"\n')
    with pytest.raises(ConfigError, match=r"profiles\[1\]\.template_set"):
        config_mod.load(path, {})
    path.write_text('[policy]\nforward_non_orders_to = "orders@mycompany.test"\n')
    with pytest.raises(ConfigError, match="forward_non_orders_to"):
        config_mod.load(path, {})
    path.write_text(PROFILES_TOML + '[relay]\nretry_base_delay = 0.5\n')
    cfg = config_mod.load(path, {"ORDERD_POLICY_MAX_REPLIES_PER_HOUR": "3", "ORDERD_RELAY_MAX_ATTEMPTS": "4"})
    assert [p.name for p in cfg.profiles] == ["default", "germany", "gold", "rhone-vip"]
    assert cfg.profiles[3].from_addr == "vip@mycompany.test" and cfg.profiles[2].bcc == ("gold-archive@mycompany.test",)
    assert (cfg.policy.max_replies_per_hour, cfg.relay.max_attempts, cfg.relay.retry_base_delay) == (3, 4, 0.5)


# --- the durable outbox against a real relay --------------------------------------------------


async def _metric(app: App, name: str) -> float:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{app.http_port}/metrics") as resp:
        text = await resp.text()
    match = re.search(rf"^{re.escape(name)} ([0-9.e+]+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


async def test_relay_down_then_up_every_reply_once_and_550_recorded_not_retried(
    tmp_path: Path, make_config: Callable[..., Config], relay: RunningSink
) -> None:
    cfg = make_config(relay={"host": "127.0.0.1", "port": relay.port, "retry_base_delay": 0.05, "max_attempts": 40})
    app = App(cfg)
    await app.start()
    try:
        relay.reject["*"] = 421
        ids = [(await send_as(app.smtp_port, address, "Please deliver 1 x DC-1011."))[0] for address in CUSTOMERS]
        ids.append((await send_as(app.smtp_port, "jane.doe@orion-electronics.com", "And 1 x DC-1010 please."))[0])

        async def retried() -> bool:
            items = await app.store.outbox_items(state="pending")
            return len(items) == len(ids) and all(item.attempts >= 2 for item in items)

        for _ in range(200):
            if await retried():
                break
            await asyncio.sleep(0.05)
        assert await retried(), "replies are kept and retried while the relay defers"
        assert not relay.messages
        relay.reject.clear()
        assert await wait_for(lambda: len(relay.messages) >= len(ids), timeout=15)
        assert await quiet(relay) == len(ids)
        for message_id in ids:
            assert len(replies_to(relay, message_id)) == 1, "every reply delivered exactly once"

        permanent_before = await _metric(app, 'orderd_outbox_failures_total{kind="permanent"}')
        relay.reject["lucia.fernandez@iberiavalves.es"] = 550
        refused_id, _name = await send_as(app.smtp_port, "lucia.fernandez@iberiavalves.es", "2 x DC-1011 bitte")

        async def failed() -> list:
            return await app.store.outbox_items(state="failed")

        for _ in range(200):
            if await failed():
                break
            await asyncio.sleep(0.05)
        [item] = await failed()
        await asyncio.sleep(0.5)
        [item] = await failed()
        assert item.attempts == 1, "a 5xx is not retried"
        assert "550" in (item.last_error or "")
        assert await _metric(app, 'orderd_outbox_failures_total{kind="permanent"}') == permanent_before + 1

        env = {"ORDERD_STORE_URL": cfg.store.url}
        listed = await asyncio.to_thread(orderd_cli, "outbox", "--state", "failed", env=env)
        assert listed.returncode == 0, listed.stderr
        rows = [line.split("\t") for line in listed.stdout.splitlines()[1:]]
        assert [(r[0], r[2], r[4], r[5]) for r in rows] == [
            (str(item.id), "lucia.fernandez@iberiavalves.es", "failed", "1")]
        assert "550" in rows[0][6] and rows[0][3].startswith("[S")
        everything = await asyncio.to_thread(orderd_cli, "outbox", env=env)
        assert len(everything.stdout.splitlines()) == 1 + len(ids) + 1

        # The address is fixed: the operator requeues it, the running sender delivers it once.
        relay.reject.clear()
        retried_cli = await asyncio.to_thread(orderd_cli, "outbox", "retry", "--failed", env=env)
        assert retried_cli.returncode == 0 and "requeued 1" in retried_cli.stdout, retried_cli.stderr
        assert app.outbox is not None
        app.outbox.wake()
        assert await wait_for(lambda: bool(replies_to(relay, refused_id)), timeout=10)
        await quiet(relay, 0.3)
        assert len(replies_to(relay, refused_id)) == 1
        missing = await asyncio.to_thread(orderd_cli, "outbox", "retry", "99999", env=env)
        assert missing.returncode != 0 and "99999" in missing.stderr
    finally:
        await app.stop()


async def test_replies_pending_at_restart_go_out_after_it_once(
    make_config: Callable[..., Config], relay: RunningSink
) -> None:
    cfg = make_config(relay={"host": "127.0.0.1", "port": relay.port, "retry_base_delay": 0.05, "max_attempts": 40})
    first = App(cfg)
    await first.start()
    relay.reject["*"] = 451
    try:
        ids = [(await send_as(first.smtp_port, address, "Please deliver 1 x DC-1018."))[0]
               for address in list(CUSTOMERS)[:3]]
        await asyncio.sleep(0.5)  # the sender tries and is deferred a few times
    finally:
        await first.stop()
    assert not relay.messages
    relay.reject.clear()

    second = App(cfg)  # the same store
    await second.start()
    try:
        assert await wait_for(lambda: len(relay.messages) >= len(ids), timeout=10)
        assert await quiet(relay) == len(ids)
        for message_id in ids:
            assert len(replies_to(relay, message_id)) == 1
        assert await second.store.outbox_depth() == 0
    finally:
        await second.stop()


# --- loops and backscatter ------------------------------------------------------------------


async def _send_null_sender(port: int, raw: bytes) -> tuple[int, str]:
    """A bounce: `MAIL FROM:<>` (RFC 5321 §4.5.5), which aiosmtplib.send() does not allow."""
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30)
    await client.connect()
    try:
        await client.ehlo()
        await client.mail("")
        await client.rcpt(ORDER_ADDRESS)
        response = await client.data(raw)
        return response.code, response.message
    finally:
        await client.quit()


def _bounce_of(reply: EmailMessage) -> bytes:
    boundary = "bounce-boundary-42"
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.orion-electronics.com>\r\n"
        f"To: {ORDER_ADDRESS}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: {make_msgid('dsn', domain='mx.orion-electronics.com')}\r\nAuto-Submitted: auto-replied\r\n"
        f'MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        f"\r\n--{boundary}\r\nContent-Type: text/plain\r\n\r\nThe mailbox is full.\r\n"
        f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.orion-electronics.com\r\n"
        "\r\nFinal-Recipient: rfc822; jane.doe@orion-electronics.com\r\nAction: failed\r\nStatus: 5.2.2\r\n"
        f"\r\n--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: {reply['From']}\r\nTo: {reply['To']}\r\nSubject: {reply['Subject']}\r\n"
        f"Message-ID: {reply['Message-ID']}\r\n\r\n--{boundary}--\r\n"
    ).encode()


async def test_out_of_office_bounce_list_and_own_address_are_never_answered(
    orderd: App, odoo_sim: RunningSim, relay: RunningSink
) -> None:
    jane = "jane.doe@orion-electronics.com"
    message_id, name = await send_as(orderd.smtp_port, jane, "Please deliver 2 x DC-1009.")
    assert await wait_for(lambda: bool(replies_to(relay, message_id)))
    [ours] = replies_to(relay, message_id)
    baseline = await quiet(relay, 0.3)
    [order] = await odoo_search_read(odoo_sim.url, "sale.order", [["name", "=", name]], ["id"])

    # An out-of-office answering our confirmation.
    ooo = order_email("I am out of the office until Monday.", sender=f"Jane Doe <{jane}>",
                      subject=f"Automatic reply: {ours['Subject']}", In_Reply_To=ours["Message-ID"],
                      References=f"{message_id} {ours['Message-ID']}", Auto_Submitted="auto-replied")
    code, text = await smtp_send(orderd.smtp_port, ooo, sender=jane)
    assert code == 250, text
    # A person (no Auto-Submitted) answering our reply: the comment path, noted on the order, no answer.
    human = order_email("Thanks! Could you ship it with UPS?", sender=f"Jane Doe <{jane}>",
                        subject=f"Re: {ours['Subject']}", In_Reply_To=ours["Message-ID"])
    code, text = await smtp_send(orderd.smtp_port, human, sender=jane)
    assert code == 250 and name in text, text
    # A bounce of our reply, with the null envelope sender.
    code, text = await _send_null_sender(orderd.smtp_port, _bounce_of(ours))
    assert code == 250, text
    # A list message and mail from orderd's own address (our reply looped back by a forwarding rule).
    listed = order_email("Special offer: 2 x DC-1001 for the price of one!", sender="news@vendor.example",
                         subject="Newsletter", List_Id="<offers.vendor.example>",
                         List_Unsubscribe="<mailto:leave@vendor.example>", Precedence="bulk")
    code, text = await smtp_send(orderd.smtp_port, listed, sender="news@vendor.example")
    assert code == 250, text
    looped = order_email("Please deliver 2 x DC-1009.", sender=f"Orders <{ORDER_ADDRESS}>", subject="Fwd: Order")
    code, text = await smtp_send(orderd.smtp_port, looped, sender=ORDER_ADDRESS)
    assert code == 250, text

    await quiet(relay)
    after = sent(relay)[baseline:]
    # Nothing went back to the out-of-office, the bounce, the list or ourselves; only the list message
    # reached a person, at the human address.
    assert [(rcpt, str(msg["Subject"])) for rcpt, msg in after] == [(["sales@mycompany.test"], "Fwd: Newsletter")]
    assert not mail_to(relay, "news@vendor.example") and not mail_to(relay, ORDER_ADDRESS)
    assert len(mail_to(relay, jane)) == 1
    orders = await odoo_search_read(odoo_sim.url, "sale.order", [], ["name"])
    assert len(orders) == 1, "none of them made an order"
    notes = await odoo_search_read(odoo_sim.url, "mail.message",
                                   [["model", "=", "sale.order"], ["res_id", "=", order["id"]]], ["body"])
    bodies_on_order = " ".join(n["body"] for n in notes)
    assert "out of the office" in bodies_on_order and "UPS" in bodies_on_order and "mailbox is full" in bodies_on_order
    activities = await odoo_search_read(odoo_sim.url, "mail.activity", [["res_id", "=", order["id"]]], ["summary"])
    assert any("bounced" in a["summary"] for a in activities), "a bounced reply asks a person to follow up"


async def test_reply_rate_cap_stops_a_robot_that_answers_everything(
    make_config: Callable[..., Config], odoo_sim: RunningSim, relay: RunningSink
) -> None:
    app = App(make_config(policy={"max_replies_per_hour": 3}))
    await app.start()
    robot = "purchasing-bot@autobuyer.example"
    try:
        # The robot answers each mail it gets with a fresh order (no Auto-Submitted, no threading).
        sent_by_robot = 0
        for _ in range(8):
            before = len(mail_to(relay, robot))
            await send_as(app.smtp_port, robot, "Automatic purchase: 1 x DC-1009.", subject="Purchase order")
            sent_by_robot += 1
            if not await wait_for(lambda before=before: len(mail_to(relay, robot)) > before, timeout=2.0):
                break  # no answer: the robot has nothing to answer, the loop is over
        await quiet(relay, 0.3)
        assert len(mail_to(relay, robot)) == 3, "replies stop at policy.max_replies_per_hour"
        assert sent_by_robot == 4
        orders = await odoo_search_read(odoo_sim.url, "sale.order", [["partner_id.email", "=", robot]], ["name"])
        assert len(orders) == 4, "the order beyond the cap is still processed"
        [last] = await app.store.entries(limit=1)
        assert last.state == "done" and any("max_replies_per_hour" in r for r in last.reasons), last.reasons
        notes = await odoo_search_read(odoo_sim.url, "mail.message", [["model", "=", "sale.order"],
                                                                      ["res_id", "=", last.order_id]], ["body"])
        assert any("No reply was sent" in n["body"] for n in notes)
    finally:
        await app.stop()


# --- non-orders reach a human -----------------------------------------------------------------


async def test_a_question_reaches_the_human_address_with_the_original_attached(
    orderd: App, odoo_sim: RunningSim, relay: RunningSink
) -> None:
    raw = order_email("Hello,\n\nwhat are your opening hours during the holidays?\n\nThanks, Claire",
                      subject="Opening hours", message_id="<question-1@example.com>")
    code, text = await smtp_send(orderd.smtp_port, raw)
    assert code == 250, text
    assert await wait_for(lambda: bool(mail_to(relay, "sales@mycompany.test")))
    await quiet(relay, 0.3)
    [forward] = mail_to(relay, "sales@mycompany.test")
    assert not mail_to(relay, "customer2@example.com"), "a question gets no automatic answer"
    assert forward["Subject"] == "Fwd: Opening hours"
    assert "customer2@example.com" in forward["Reply-To"]
    [attached] = [p for p in forward.walk() if p.get_content_type() == "message/rfc822"]
    original = attached.get_content()
    assert original["Message-ID"] == "<question-1@example.com>"
    assert "opening hours during the holidays" in original.get_body(preferencelist=("plain",)).get_content()
    assert not await odoo_search_read(odoo_sim.url, "sale.order", [], ["name"])


# --- the archive on the order's chatter ---------------------------------------------------------


async def test_the_order_chatter_shows_exactly_what_the_customer_received(
    orderd: App, odoo_sim: RunningSim, relay: RunningSink
) -> None:
    message_id, name = await send_as(orderd.smtp_port, "j.weber@hartmann-pumpen.de", "Bitte 3 x DC-1004 liefern.")
    assert await wait_for(lambda: bool(replies_to(relay, message_id)))
    [(envelope, delivered)] = [(e, raw) for e, raw in relay.messages
                               if str(parse(raw).get("In-Reply-To", "")).strip() == message_id]
    [order] = await odoo_search_read(odoo_sim.url, "sale.order", [["name", "=", name]], ["id"])
    notes = await odoo_search_read(odoo_sim.url, "mail.message",
                                   [["model", "=", "sale.order"], ["res_id", "=", order["id"]]],
                                   ["body", "attachment_ids"])
    notes = [n for n in notes if "DC-1004" in n["body"]]
    assert len(notes) == 1, "one note carries the email and the reply"
    text, _html = bodies(parse(delivered))
    body = unescape(re.sub(r"<[^>]+>", "", notes[0]["body"]))
    assert "Bitte 3 x DC-1004 liefern." in body
    assert " ".join(text.split()[:12]) in " ".join(body.split()), "the reply's text is on the note"
    files = await odoo_search_read(odoo_sim.url, "ir.attachment", [["id", "in", notes[0]["attachment_ids"]]],
                                   ["name", "datas", "mimetype"])
    emls = [base64.b64decode(f["datas"]) for f in files if f["mimetype"] == "message/rfc822"]
    assert len(emls) == 2
    # The archived reply is byte for byte what the relay received (line endings aside).
    assert delivered.replace(b"\r\n", b"\n").strip() in [e.replace(b"\r\n", b"\n").strip() for e in emls]
    # The outbox keeps the raw bytes too, linked to the order.
    [item] = await orderd.store.outbox_items(state="sent")
    assert item.order_id == order["id"] and item.mail.order_name == name
    assert item.mail.raw.replace(b"\r\n", b"\n").strip() == delivered.replace(b"\r\n", b"\n").strip()
    assert envelope.mail_from == "orders@mycompany.test"


# --- broken templates -------------------------------------------------------------------------


async def test_a_broken_template_fails_check_with_file_and_line_and_serve_refuses_to_start(
    tmp_path: Path, odoo_sim: RunningSim, relay: RunningSink
) -> None:
    templates = tmp_path / "templates"
    (templates / "en").mkdir(parents=True)
    (templates / "en" / "confirmed.txt").write_text(
        "Hello {{ customer_name }},\n\nyour order {{ order_name }\n", encoding="utf-8")  # line 3: unclosed
    (templates / "fr").mkdir()
    (templates / "fr" / "review.html").write_text("<p>Bonjour</p>\n<p>{{ no_such_value }}</p>\n", encoding="utf-8")
    env = {"ORDERD_ODOO_URL": odoo_sim.url, "ORDERD_RELAY_PORT": str(relay.port),
           "ORDERD_STORE_URL": f"sqlite:///{tmp_path / 's.sqlite3'}", "ORDERD_TEMPLATES_DIRECTORY": str(templates),
           "ORDERD_SMTP_LISTEN": "127.0.0.1:0", "ORDERD_HTTP_LISTEN": "127.0.0.1:0"}
    check = await asyncio.to_thread(orderd_cli, "check", env=env)
    assert check.returncode != 0
    assert f"templates: FAILED: {templates / 'en' / 'confirmed.txt'}:3:" in check.stdout, check.stdout
    assert f"{templates / 'fr' / 'review.html'}:2" in check.stdout and "no_such_value" in check.stdout
    assert "odoo: ok" in check.stdout  # the other checks still run and report

    serve = await asyncio.to_thread(orderd_cli, "serve", env=env, timeout=30)
    assert serve.returncode != 0
    assert f"{templates / 'en' / 'confirmed.txt'}:3" in serve.stderr and "not starting" in serve.stderr

    (templates / "en" / "confirmed.txt").write_text("Hello {{ customer_name }}, {{ order_name }}\n", encoding="utf-8")
    (templates / "fr" / "review.html").unlink()
    fixed = await asyncio.to_thread(orderd_cli, "check", env=env)
    assert fixed.returncode == 0 and "templates: ok" in fixed.stdout, fixed.stdout
