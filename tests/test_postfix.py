"""A real Postfix in front of orderd: a 451 while Odoo is down keeps the message queued, one order results.

Postfix comes from Debian's packages (deploy/postfix/install-for-tests.sh, run by .ci/run). The test
runs its own instance with `postfix -c DIR`: main.cf, master.cf, queue and data directories all in a
temporary directory, listening on one loopback port, so the machine's own mail setup (if any) is
never read or touched. main.cf is deploy/postfix/main.cf.fragment as documented, with the test's
directories and short retry timing set on top by `postconf -e`; the transport map is deploy/'s with
orderd's port of this run.

If postfix is missing the test fails (it does not skip): CI must not pass without having run it.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import stat
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from conftest import ORDER_ADDRESS, odoo_search_read, order_email, smtp_send

from odoosim import RunningSim
from orderd.app import App

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy" / "postfix"

# The test's retry timing: seconds instead of Postfix's minutes (deploy/postfix/README.md).
TEST_SETTINGS = {
    "compatibility_level": "3.6",
    "myhostname": "relay.orderd-test.invalid",  # not orderd's name: Postfix refuses to relay to itself
    "mydestination": "",
    "local_recipient_maps": "",
    "local_transport": "error:5.1.1 no local delivery on this relay",
    "alias_maps": "",
    "alias_database": "",
    "inet_interfaces": "loopback-only",
    "inet_protocols": "ipv4",
    "mynetworks": "127.0.0.0/8",
    # No DNS at all on a test machine: the next hop is numeric and clients' names are not looked up.
    "smtp_dns_support_level": "disabled",
    "smtp_host_lookup": "native",
    "smtpd_peername_lookup": "no",
    "minimal_backoff_time": "2s",
    "maximal_backoff_time": "4s",
    "queue_run_delay": "2s",
    "biff": "no",
    "maillog_file": "",  # set per instance below: Postfix logs there instead of to syslog
}

# Only the services a relay needs, none chrooted (a chroot would need copies of /etc files).
MASTER_CF = """\
{listen} inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -  - proxymap
smtp      unix  - - n -  - smtp
relay     unix  - - n -  - smtp
showq     unix  n - n -  - showq
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postfix_binary(name: str) -> str:
    found = shutil.which(name) or next((p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.path.exists(p)),
                                       None)
    if found is None:
        pytest.fail(f"{name} is not installed: Postfix is needed for this test. Install it with"
                    f" `bash deploy/postfix/install-for-tests.sh` (as root; .ci/run does this).", pytrace=False)
    return found


class Postfix:
    """One Postfix instance living entirely in `root`."""

    def __init__(self, root: Path, smtpd_port: int, orderd_port: int) -> None:
        self.root = root
        self.config = root / "etc"
        self.smtpd_port = smtpd_port
        self.orderd_port = orderd_port
        self.postfix = _postfix_binary("postfix")
        self.postconf = _postfix_binary("postconf")
        self.postqueue = _postfix_binary("postqueue")
        self.postmap = _postfix_binary("postmap")

    async def _run(self, *args: str, check: bool = True) -> str:
        proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.STDOUT)
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
        text = out.decode(errors="replace")
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(args)} exited {proc.returncode}:\n{text}\n{self.log()}")
        return text

    async def configure(self) -> None:
        self.config.mkdir(parents=True)
        # main.cf: the documented fragment, then this instance's settings on top.
        shutil.copy(DEPLOY / "main.cf.fragment", self.config / "main.cf")
        transport = (DEPLOY / "transport").read_text()
        transport, n = re.subn(r"\[127\.0\.0\.1\]:\d+", f"[127.0.0.1]:{self.orderd_port}", transport)
        assert n == 1, "deploy/postfix/transport should route mycompany.test to [127.0.0.1]:PORT"
        (self.config / "transport").write_text(transport)
        (self.config / "master.cf").write_text(MASTER_CF.format(listen=f"127.0.0.1:{self.smtpd_port}"))
        settings = dict(TEST_SETTINGS,
                        queue_directory=str(self.root / "queue"), data_directory=str(self.root / "data"),
                        maillog_file=str(self.root / "maillog"),
                        # Postfix only logs to files under these prefixes (a guard against typos).
                        maillog_file_prefixes=str(self.root),
                        transport_maps=f"hash:{self.config / 'transport'}")
        await self._run(self.postconf, "-c", str(self.config), "-e", *(f"{k}={v}" for k, v in settings.items()))
        await self._run(self.postmap, "-c", str(self.config), f"hash:{self.config / 'transport'}")

    async def start(self) -> None:
        # The queue directory itself belongs to root; `postfix check` creates its subdirectories and
        # the data directory with Postfix's own ownership and modes.
        (self.root / "queue").mkdir(mode=0o755, exist_ok=True)
        await self._run(self.postfix, "-c", str(self.config), "check")
        await self._run(self.postfix, "-c", str(self.config), "start")
        deadline = time.monotonic() + 30
        while True:
            try:
                _r, writer = await asyncio.open_connection("127.0.0.1", self.smtpd_port)
                writer.close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"postfix did not listen on {self.smtpd_port}:\n{self.log()}") from None
                await asyncio.sleep(0.1)

    async def stop(self) -> None:
        await self._run(self.postfix, "-c", str(self.config), "stop", check=False)

    async def queue(self) -> list[dict]:
        out = await self._run(self.postqueue, "-c", str(self.config), "-j")
        return [json.loads(line) for line in out.splitlines() if line.strip().startswith("{")]

    async def flush(self) -> None:
        await self._run(self.postqueue, "-c", str(self.config), "-f")

    def log(self) -> str:
        path = self.root / "maillog"
        return path.read_text(errors="replace")[-4000:] if path.exists() else "(no maillog)"


@pytest.fixture
async def postfix(orderd: App) -> AsyncIterator[Postfix]:
    # Not under pytest's tmp_path: Postfix's unprivileged daemons must be able to reach the queue
    # directory, and pytest's base directory is readable by root only.
    root = Path(tempfile.mkdtemp(prefix="orderd-postfix-"))
    root.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    instance = Postfix(root, _free_port(), orderd.smtp_port)
    try:
        await instance.configure()
        await instance.start()
        yield instance
    finally:
        await instance.stop()
        shutil.rmtree(root, ignore_errors=True)


async def _wait(predicate_coro: Callable[[], Awaitable[bool]], timeout: float, what: str, postfix: Postfix) -> float:
    started = time.monotonic()
    while not await predicate_coro():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{postfix.log()}")
        await asyncio.sleep(0.2)
    return time.monotonic() - started


@pytest.mark.parametrize("fault", ["http500", "drop"])
async def test_postfix_keeps_the_message_while_odoo_is_down(
    fault: str, postfix: Postfix, orderd: App, odoo_sim: RunningSim
) -> None:
    message_id = f"<postfix-{fault}-{os.getpid()}@example.com>"
    raw = order_email("Hello,\n\nplease send 4 x DC-1002.\n\nRegards", message_id=message_id)
    odoo_sim.set_faults(mode=fault)

    code, text = await smtp_send(postfix.smtpd_port, raw)
    assert code == 250, f"Postfix should queue the message: {code} {text}"
    queue_id = text.split("queued as", 1)[-1].strip() if "queued as" in text else "?"

    # Postfix hands it to orderd, which answers 451: the message stays in Postfix's deferred queue.
    async def deferred_with_451() -> bool:
        return any("451" in r.get("delay_reason", "") for e in await postfix.queue() for r in e["recipients"])

    await _wait(deferred_with_451, 30, "orderd's 451 in postqueue -j", postfix)
    [entry] = await postfix.queue()
    reason = entry["recipients"][0]["delay_reason"]
    assert entry["queue_name"] == "deferred" and entry["recipients"][0]["address"] == ORDER_ADDRESS
    assert "4.3.0" in reason, reason
    # orderd journaled it and recorded the failure; nothing is done yet (Odoo itself cannot be asked
    # while it fails; the single order counted at the end shows none was made meanwhile).
    journaled = await orderd.services.store.get(_key_of(raw))
    assert journaled is not None and journaled.state == "failed" and journaled.order_name is None

    # Let Postfix retry once more on its own with Odoo still down: still deferred, still no order.
    attempts_down = postfix.log().count("said: 451")
    await _wait(lambda: _later_attempt(postfix, attempts_down), 20, "Postfix's own retry", postfix)

    odoo_sim.clear_faults()
    await postfix.flush()

    async def delivered() -> bool:
        return await postfix.queue() == []

    took = await _wait(delivered, 30, "delivery after Odoo came back", postfix)
    orders = await odoo_search_read(odoo_sim.url, "sale.order", [["origin", "ilike", message_id[1:-1]]],
                                    ["name", "state"])
    log = postfix.log()
    deferrals = log.count("said: 451")
    sent = len(re.findall(r"status=sent \(250 2\.0\.0 accepted as S\d+", log))
    entry_state = await orderd.services.store.get(_key_of(raw))
    print(f"\nPostfix queue id {queue_id}, Odoo fault {fault!r}: {deferrals} delivery attempts answered 451 and"
          f" kept in the deferred queue; delivered {took:.1f}s after Odoo came back and a flush;"
          f" {sent} accepted delivery; {len(orders)} order(s) in Odoo {[o['name'] for o in orders]};"
          f" journal state {entry_state.state if entry_state else None},"
          f" {entry_state.attempts if entry_state else None} failed attempt(s) recorded")
    assert deferrals >= 2
    assert len(orders) == 1 and sent == 1
    assert entry_state is not None and entry_state.state == "done" and entry_state.attempts == deferrals


async def _later_attempt(postfix: Postfix, seen: int) -> bool:
    return postfix.log().count("said: 451") > seen


def _key_of(raw: bytes) -> str:
    from orderd.records import Message

    return Message.from_bytes(raw).key
