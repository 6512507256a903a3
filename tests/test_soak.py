"""Soak: 500 distinct orders from 3 concurrent senders, random Odoo faults, some messages delivered two or
three times. Every sender behaves like an MTA (a 4xx or a dropped session is retried). At the end there is
exactly one order per distinct message: none lost, none duplicated."""

from __future__ import annotations

import asyncio
import random
import re
from collections import Counter

from conftest import odoo_search_read, order_email, smtp_send

from odoosim import RunningSim
from orderd.app import App

MESSAGES = 500
SENDERS = 3
PRODUCTS = ["DC-1009", "DC-1018", "DC-1002", "DC-1011", "DC-1007", "DC-1005", "DC-1010"]


async def test_soak_exactly_one_order_per_message(orderd: App, odoo_sim: RunningSim) -> None:
    rng = random.Random(20261125)
    deliveries = [i for i in range(MESSAGES) for _ in range(rng.choice((1, 1, 1, 2, 3)))]
    rng.shuffle(deliveries)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in deliveries:
        queue.put_nowait(i)
    codes: Counter[int] = Counter()
    stop_faults = asyncio.Event()

    async def faults() -> None:
        while not stop_faults.is_set():
            await asyncio.sleep(rng.uniform(0.2, 0.6))
            odoo_sim.set_faults(mode=rng.choice(("drop", "http500")), count=rng.randint(1, 3))

    async def sender() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            raw = order_email(f"Please send {1 + i % 2} x {PRODUCTS[i % len(PRODUCTS)]}.",
                              message_id=f"<soak-{i}@example.com>")
            for _attempt in range(50):
                code, _text = await smtp_send(orderd.smtp_port, raw)
                codes[code] += 1
                if code == 250:
                    break
                await asyncio.sleep(0.05)  # an MTA would wait minutes; the promise is the same
            else:
                raise AssertionError(f"message {i} never accepted")

    fault_task = asyncio.create_task(faults())
    await asyncio.gather(*(sender() for _ in range(SENDERS)))
    stop_faults.set()
    await fault_task
    odoo_sim.set_faults(mode=None)

    orders = await odoo_search_read(odoo_sim.url, "sale.order", [["origin", "ilike", "soak-"]], ["origin"])
    per_message = Counter(int(m.group(1)) for o in orders if (m := re.search(r"soak-(\d+)@", o["origin"])))
    lost = [i for i in range(MESSAGES) if per_message[i] == 0]
    duplicated = [i for i, n in per_message.items() if n > 1]
    print(f"soak: {MESSAGES} messages, {len(deliveries)} deliveries, SMTP replies {dict(codes)}, "
          f"orders {len(orders)}, lost {len(lost)}, duplicated {len(duplicated)}")
    assert codes[451] > 0, "the fault injection never hit: the soak proved nothing"
    assert not lost and not duplicated
    assert len(orders) == MESSAGES
