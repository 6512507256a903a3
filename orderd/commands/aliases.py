"""`orderd aliases`: what salespeople taught orderd (a customer's wording for a product, a pack size),
and forgetting it. Works on the store directly, so it runs beside a serving orderd: a forgotten alias
no longer resolves the next mail."""

from __future__ import annotations

import json
import sys

from orderd.config import Config
from orderd.learning.view import alias_view
from orderd.store import Alias, open_store


def format_alias(alias: Alias) -> str:
    pack = f"{alias.pack} = {alias.pack_size:g}" if alias.pack and alias.pack_size else "-"
    when = alias.learned_at.strftime("%Y-%m-%d %H:%M:%S") if alias.learned_at else "-"
    return "\t".join([str(alias.id), str(alias.partner_id), alias.wording, alias.default_code, pack,
                      alias.order_name or "-", when, str(alias.times_used)])


async def list_aliases(config: Config, *, partner_id: int | None, as_json: bool) -> int:
    store = await open_store(config.store.url)
    try:
        aliases = await store.aliases(partner_id)
    finally:
        await store.close()
    if as_json:  # one object per line, as `orderd parse` prints
        for alias in aliases:
            print(json.dumps(alias_view(alias), ensure_ascii=False))
        return 0
    # Tab-separated so a shell pipeline (cut, awk) can pick columns; the header says which.
    print("id\tcustomer\twording\tproduct\tpack\tlearned_from\tlearned_at\tused")
    for alias in aliases:
        print(format_alias(alias))
    return 0


async def forget_aliases(config: Config, ids: list[int]) -> int:
    """Non-zero when an id was not found."""
    store = await open_store(config.store.url)
    missing = []
    try:
        for alias_id in ids:
            if not await store.forget_alias(alias_id):
                missing.append(alias_id)
    finally:
        await store.close()
    print(f"forgot {len(ids) - len(missing)} alias(es)")
    for alias_id in missing:
        print(f"orderd aliases: no alias {alias_id}", file=sys.stderr)
    return 1 if missing else 0
