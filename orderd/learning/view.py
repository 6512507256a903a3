"""A learned alias as `orderd aliases --json` and the console's API show it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orderd.store import Alias


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def alias_view(alias: Alias) -> dict[str, Any]:
    """One alias as the command's --json and the console's API show it."""
    return {"id": alias.id, "partner_id": alias.partner_id, "wording": alias.wording,
            "product_id": alias.product_id, "default_code": alias.default_code, "pack": alias.pack,
            "pack_size": alias.pack_size, "learned_from": alias.order_name, "learned_order_id": alias.order_id,
            "learned_at": _iso(alias.learned_at), "times_used": alias.times_used,
            "last_used_at": _iso(alias.last_used_at)}
