"""The store keeps what orderd read for a review draft and what it learned from the person who confirmed
it, the same way in both backends (the `backend` fixture: SQLite, or a PostgreSQL schema)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orderd.store import Alias, DraftReading, ReadLine, open_store

if TYPE_CHECKING:
    from store_backends import Backend

pytest_plugins = ["store_backends"]


def reading(order_id: int = 7, partner_id: int = 3) -> DraftReading:
    return DraftReading(
        order_id=order_id, order_name=f"S{order_id:05d}", partner_id=partner_id,
        customer_email="jane@customer.test", key=f"key-{order_id}",
        lines=[ReadLine("blue housing", 5.0, candidates=["DC-1001", "DC-1016"]),
               ReadLine("dc 1005", None, pack="carton", pack_count=3.0, product_id=5, default_code="DC-1005")],
    )


async def test_a_draft_reading_is_kept_until_dropped(backend: Backend) -> None:
    store = await open_store(backend.url)
    try:
        await store.save_draft_reading(reading(7))
        await store.save_draft_reading(reading(8))
        await store.save_draft_reading(reading(7))  # a redelivery resuming the draft reads it again: one reading
        found = await store.draft_readings()
        assert [r.order_id for r in found] == [7, 8]
        assert found[0].lines == reading(7).lines and found[0].partner_id == 3 and found[0].created_at
        await store.drop_draft_reading(7)
        assert [r.order_id for r in await store.draft_readings()] == [8]
    finally:
        await store.close()


async def test_aliases_are_learned_listed_used_and_forgotten(backend: Backend) -> None:
    store = await open_store(backend.url)
    try:
        await store.save_draft_reading(reading(7))
        await store.learned(7, [
            Alias(3, "blue housing", 16, "DC-1016", order_id=7, order_name="S00007"),
            Alias(3, "dc 1005", 5, "DC-1005", pack="carton", pack_size=20.0, order_id=7, order_name="S00007"),
        ])
        assert await store.draft_readings() == []  # learned from: nothing more to wait for
        mine = await store.aliases(3)
        assert [(a.wording, a.default_code, a.pack, a.pack_size) for a in mine] == [
            ("blue housing", "DC-1016", None, None), ("dc 1005", "DC-1005", "carton", 20.0)]
        assert await store.aliases(4) == []  # another customer's wording is not this one's
        assert all(a.id and a.learned_at and a.times_used == 0 for a in mine)

        # The same wording learned again takes the newer meaning; a pack size known for the same product
        # stays when the newer lesson says nothing about packs.
        await store.learned(9, [Alias(3, "dc 1005", 5, "DC-1005", order_id=9, order_name="S00009"),
                                Alias(3, "blue housing", 6, "DC-1006", order_id=9, order_name="S00009")])
        again = {a.wording: a for a in await store.aliases(3)}
        assert (again["dc 1005"].pack, again["dc 1005"].pack_size, again["dc 1005"].order_name) == (
            "carton", 20.0, "S00009")
        assert again["blue housing"].default_code == "DC-1006"

        used = again["blue housing"].id
        assert used is not None
        await store.aliases_used([used, used])
        assert {a.wording: a.times_used for a in await store.aliases()} == {"blue housing": 2, "dc 1005": 0}
        assert await store.forget_alias(used) is True
        assert await store.forget_alias(used) is False
        assert [a.wording for a in await store.aliases()] == ["dc 1005"]
    finally:
        await store.close()
