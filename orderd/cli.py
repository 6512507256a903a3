"""The `orderd` command (see DESIGN.md, "Command line")."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orderd import config as config_mod
from orderd import log as log_mod

if TYPE_CHECKING:  # the commands import what they use when they run: `orderd --help` stays fast
    from orderd.catalog import Catalog
    from orderd.records import Message
    from orderd.store import Store
    from orderd.understand import Reading


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["odoosim"]:  # the simulator owns its own flags
        try:
            from odoosim import main as odoosim_main
        except ModuleNotFoundError as exc:
            return _without_simulator("odoosim", exc)
        return odoosim_main(argv[1:])
    # Logs go to stderr, warnings and worse only, unless `serve` configures otherwise: stdout is for
    # the command's own output (parse prints JSON there).
    log_mod.configure("auto", "warning")
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except config_mod.ConfigError as exc:
        for problem in exc.problems:
            print(f"orderd: configuration error: {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="orderd", description="Email order intake for Odoo.")
    sub = parser.add_subparsers(metavar="COMMAND")

    p = sub.add_parser("serve", help="run the SMTP listener and the HTTP endpoint until SIGTERM")
    p.add_argument("--config", help="TOML configuration file (ORDERD_* variables override it)")
    p.set_defaults(func=_serve)

    p = sub.add_parser("demo", help="the embedded default: simulator, SMTP sink, orderd, fixture emails")
    p.add_argument("--once", action="store_true", help="stop after sending the fixture emails")
    p.add_argument("--catalog", default="fixtures/catalog.json")
    p.add_argument("--emails", default="fixtures/emails", help="folder of .eml files to send")
    p.add_argument("--smtp-port", type=int, default=2525)
    p.add_argument("--http-port", type=int, default=8080)
    # Not 8069: a developer's own Odoo is likely listening there.
    p.add_argument("--odoo-port", type=int, default=8169)
    p.add_argument("--relay-port", type=int, default=2526)
    p.set_defaults(func=_demo)

    sub.add_parser("odoosim", help="run the Odoo simulator alone (see `orderd odoosim --help`)")

    p = sub.add_parser("parse", help="dry run of classify + extract + resolve; one JSON object per file")
    p.add_argument("files", nargs="+", metavar="FILE.eml")
    p.add_argument("--catalog", help="a catalog file (its on-hand figures are the stock); default: the Odoo "
                   "--config names, or fixtures/catalog.json without a --config")
    p.add_argument("--config", help="judge under this configuration, exactly as `orderd serve` would")
    p.add_argument("--now", help="ISO-8601 date-time of judging (past dates), and for relative dates when a "
                   "message has no Date header")
    p.set_defaults(func=_parse)

    p = sub.add_parser("check", help="validate the configuration and reach Odoo, the relay and the store")
    p.add_argument("--config")
    p.set_defaults(func=_check)

    p = sub.add_parser("replay", help="re-run journaled messages through the pipeline")
    p.add_argument("ids", nargs="*", metavar="ID", help="idempotency keys (or unique prefixes)")
    p.add_argument("--failed", action="store_true", help="every message whose last attempt failed")
    p.add_argument("--config")
    p.set_defaults(func=_replay)

    p = sub.add_parser("outbox", help="list the mail orderd sent or has to send; `outbox retry` requeues")
    p.add_argument("--config")
    p.add_argument("--state", choices=("pending", "sent", "failed"), help="only items in this state")
    p.add_argument("--limit", type=int, default=100, help="newest items first, at most this many")
    p.set_defaults(func=_outbox)
    outbox_sub = p.add_subparsers(metavar="ACTION")
    retry = outbox_sub.add_parser("retry", help="put failed (or pending) items back in the queue, due now")
    retry.add_argument("ids", nargs="*", type=int, metavar="ID")
    retry.add_argument("--failed", action="store_true", help="every failed item")
    retry.add_argument("--config", dest="retry_config")
    retry.set_defaults(func=_outbox_retry)

    p = sub.add_parser("aliases", help="list what salespeople taught orderd; `aliases forget ID…` forgets")
    p.add_argument("--config")
    p.add_argument("--customer", type=int, metavar="PARTNER_ID", help="only this customer's (its Odoo commercial "
                   "partner id)")
    p.add_argument("--json", action="store_true", help="one JSON object per alias and line")
    p.set_defaults(func=_aliases)
    aliases_sub = p.add_subparsers(metavar="ACTION")
    forget = aliases_sub.add_parser("forget", help="forget learned aliases: that wording goes to a person again")
    forget.add_argument("ids", nargs="+", type=int, metavar="ID")
    forget.add_argument("--config", dest="forget_config")
    forget.set_defaults(func=_aliases_forget)

    p = sub.add_parser("seed", help="load a catalog's products, stock and customers into an Odoo")
    p.add_argument("--catalog", required=True)
    p.add_argument("--config")
    p.set_defaults(func=_seed)
    return parser


def _serve(args: argparse.Namespace) -> int:
    from orderd.app import App, PortInUse
    from orderd.reply import check_templates

    cfg = config_mod.load(args.config)
    log_mod.configure(cfg.log.format, cfg.log.level)
    # A template that cannot render would only show up as failed replies once customers write in:
    # refuse to start instead, naming the file and line.
    errors = check_templates(cfg.templates.directory, cfg.profiles)
    if errors:
        for error in errors:
            print(f"orderd: template error: {error}", file=sys.stderr)
        print("orderd: not starting with broken reply templates (see `orderd check`)", file=sys.stderr)
        return 2
    try:
        asyncio.run(App(cfg).serve_until_signal())
    except PortInUse as exc:
        variable = "ORDERD_" + exc.key.replace(".", "_").upper()
        print(f"orderd serve: {exc.address} is already in use: set {exc.key} (or {variable}) to a free address",
              file=sys.stderr)
        return 1
    return 0


def _without_simulator(command: str, exc: ModuleNotFoundError) -> int:
    if exc.name not in ("odoosim", "orderd_dev"):
        raise exc
    # The simulator and the demo are development tools beside orderd, not part of its wheel.
    what = "the Odoo simulator (the odoosim package)" if exc.name == "odoosim" else "the development tools (orderd_dev)"
    print(f"orderd {command}: needs {what}, which comes with a development install of orderd's repository"
          " (`make venv`, or `pip install -e .` there), not with the orderd wheel", file=sys.stderr)
    return 2


def _demo(args: argparse.Namespace) -> int:
    try:
        from orderd_dev.demo import run_demo
    except ModuleNotFoundError as exc:
        return _without_simulator("demo", exc)

    return asyncio.run(run_demo(
        catalog=Path(args.catalog), emails=Path(args.emails), once=args.once, smtp_port=args.smtp_port,
        http_port=args.http_port, odoo_port=args.odoo_port, relay_port=args.relay_port,
    ))


def _parse(args: argparse.Namespace) -> int:
    from orderd.catalog import Catalog, CatalogError
    from orderd.odoo.client import OdooUnavailable
    from orderd.records import Message
    from orderd.understand import Reading

    try:
        cfg = config_mod.load(args.config)
        # Without --catalog, a configuration names the Odoo to read the catalog and stock from; without
        # either, the repository's fixture catalog (the demo's) is used.
        catalog_file = args.catalog or (None if args.config else "fixtures/catalog.json")
        catalog = Catalog.from_file(catalog_file) if catalog_file else None
    except (CatalogError, config_mod.ConfigError) as exc:
        print(f"orderd parse: {exc}", file=sys.stderr)
        return 2
    reading = Reading.from_config(cfg)  # the same trusted border, internal domains and policy as serve
    now = None
    if args.now:
        try:
            now = datetime.fromisoformat(args.now)
        except ValueError:
            print(f"orderd parse: --now {args.now!r} is not an ISO-8601 date-time", file=sys.stderr)
            return 2
        if now.tzinfo is None:
            now = now.astimezone()
    messages: list[tuple[str, Message]] = []
    status = 0
    for name in args.files:
        try:
            raw = Path(name).read_bytes()
        except OSError as exc:
            print(f"orderd parse: {name}: {exc.strerror}", file=sys.stderr)
            status = 1
            continue
        message = Message.from_bytes(raw)
        if message.date is None and now is not None:
            message.date = now
        messages.append((name, message))
    today = (now or datetime.now().astimezone()).date()
    try:
        reports = asyncio.run(_parse_reports(messages, catalog, cfg, reading, today))
    except OdooUnavailable as exc:
        print(f"orderd parse: Odoo at {cfg.odoo.url}: {exc}", file=sys.stderr)
        return 2
    for report in reports:
        print(json.dumps(report, ensure_ascii=False))
    return status


async def _parse_reports(messages: list[tuple[str, Message]], catalog: Catalog | None, cfg: config_mod.Config,
                         reading: Reading, today: date) -> list[dict[str, Any]]:
    """Each message judged as serve judges it: against the catalog file (its on-hand figures as stock),
    or against Odoo (its catalog cache, and free stock read for the lines) when no file is given."""
    from orderd.learning import apply_learned
    from orderd.odoo.catalog import CatalogCache
    from orderd.odoo.client import OdooClient
    from orderd.odoo.orders import commercial_partner_of, free_qty
    from orderd.report import dry_run_verdict, parse_report
    from orderd.understand import understand

    client = None
    if catalog is None:
        client = OdooClient(cfg.odoo)
        catalog = await CatalogCache(client, refresh_seconds=0).get()
    store = await _learned_store(cfg)
    try:
        reports = []
        for name, message in messages:
            understood = understand(message, catalog, reading)
            if store is not None:
                # As serve does once it knows the customer: its learned wordings and pack sizes (the
                # customer is looked up in the configured Odoo, never created: a dry run writes nothing).
                client = client or OdooClient(cfg.odoo)
                partner_id = await commercial_partner_of(client, understood.customer_email)
                if partner_id is not None:
                    await apply_learned(store, partner_id, understood, catalog, count_use=False)
            stock = None
            if client is not None:
                ids = {ln.product.id: ln.product.default_code for ln in understood.lines
                       if ln.product and ln.product.id}
                by_id = await free_qty(client, list(ids), cfg.odoo.warehouse_id)
                stock = {code: by_id.get(pid, 0.0) for pid, code in ids.items()}
            verdict = dry_run_verdict(understood, catalog, reading, today=today, stock=stock)
            reports.append(parse_report(name, understood, verdict, catalog))
        return reports
    finally:
        if client is not None:
            await client.close()
        if store is not None:
            await store.close()


async def _learned_store(cfg: config_mod.Config) -> Store | None:
    """The configured store when learning is on and salespeople taught it something; None otherwise (a
    SQLite file that does not exist is not created by a dry run)."""
    from orderd.store import open_store

    if not cfg.learning.enabled:
        return None
    path = config_mod.sqlite_path(cfg.store.url)
    if path is not None and not path.exists():
        return None
    store = await open_store(cfg.store.url)
    if not await store.aliases():
        await store.close()
        return None
    return store


def _check(args: argparse.Namespace) -> int:
    from orderd.commands.check import check

    # The report is the output: log lines (JSON when not on a terminal) would only interleave with it.
    log_mod.configure("auto", "critical")
    return check(args.config)


def _with_demo_store(cfg: config_mod.Config, config_file: str | None) -> config_mod.Config:
    """The demo's store when nothing names a store and the default one does not exist: after `make demo`,
    `orderd outbox` and `orderd replay` show what the demo did instead of an empty, new store."""
    if config_file or "ORDERD_STORE_URL" in os.environ:
        return cfg
    default, demo = config_mod.sqlite_path(cfg.store.url), config_mod.sqlite_path(config_mod.DEMO_STORE_URL)
    if default is None or default.exists() or demo is None or not demo.exists():
        return cfg
    print(f"orderd: no store at {default}; using the demo's, {demo}", file=sys.stderr)
    return config_mod.replace(cfg, store={"url": config_mod.DEMO_STORE_URL})


def _outbox(args: argparse.Namespace) -> int:
    from orderd.commands.outbox import list_outbox

    cfg = _with_demo_store(config_mod.load(args.config), args.config)
    return asyncio.run(list_outbox(cfg, state=args.state, limit=args.limit))


def _outbox_retry(args: argparse.Namespace) -> int:
    from orderd.commands.outbox import retry_outbox

    if not args.ids and not args.failed:
        print("orderd outbox retry: give item ids or --failed", file=sys.stderr)
        return 2
    cfg = _with_demo_store(config_mod.load(args.retry_config or args.config), args.retry_config or args.config)
    return asyncio.run(retry_outbox(cfg, args.ids, failed=args.failed))


def _aliases(args: argparse.Namespace) -> int:
    from orderd.commands.aliases import list_aliases

    cfg = _with_demo_store(config_mod.load(args.config), args.config)
    return asyncio.run(list_aliases(cfg, partner_id=args.customer, as_json=args.json))


def _aliases_forget(args: argparse.Namespace) -> int:
    from orderd.commands.aliases import forget_aliases

    config_file = args.forget_config or args.config
    cfg = _with_demo_store(config_mod.load(config_file), config_file)
    return asyncio.run(forget_aliases(cfg, args.ids))


def _replay(args: argparse.Namespace) -> int:
    from orderd.commands.replay import replay

    if not args.ids and not args.failed:
        print("orderd replay: give message ids or --failed", file=sys.stderr)
        return 2
    cfg = _with_demo_store(config_mod.load(args.config), args.config)
    log_mod.configure(cfg.log.format, cfg.log.level)
    return asyncio.run(replay(cfg, args.ids, failed=args.failed))


def _seed(args: argparse.Namespace) -> int:
    from orderd.catalog import Catalog
    from orderd.odoo.seed import seed

    cfg = config_mod.load(args.config)
    catalog = Catalog.from_file(args.catalog)
    counts = asyncio.run(seed(cfg.odoo, catalog))
    print(" ".join(f"{name}={count}" for name, count in counts.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
