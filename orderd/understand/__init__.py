"""Understanding one email: the pure stages (classify, thread, extract, resolve) and the gate.

`understand` and `judge` are the only way any command reads mail: `serve` runs them in a worker
thread, `orderd parse` and `make accuracy` run them directly, all with the same `Reading` built from
the same configuration, so a dry run judges exactly as the server does.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date

import structlog

from orderd import metrics
from orderd.catalog import Catalog
from orderd.config import Config, internal_domains, own_addresses
from orderd.extract import extract
from orderd.extract.trust import trust_reasons
from orderd.records import Classification, Extraction, Message, OrderLine, Stage, ThreadRef, Verdict
from orderd.understand.classify import classify
from orderd.understand.decide import GatePolicy, decide
from orderd.understand.resolve import PackSizes, reconcile_sources, resolve_lines
from orderd.understand.thread import order_name_from_message_id, thread

log = structlog.get_logger("orderd.understand")


@contextlib.contextmanager
def stage(name: Stage, timings: dict[str, float]) -> Iterator[None]:
    """Time one stage into the message's timings, the stage histogram and one log event.

    Each stage is meant to be opened once per message; should a path open one twice, its times add up."""
    started = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - started
        timings[name] = round(timings.get(name, 0.0) + elapsed, 6)
        metrics.STAGE_SECONDS.labels(name).observe(elapsed)
        log.info("stage", stage=name, seconds=round(elapsed, 6))


@dataclass(frozen=True)
class Reading:
    """What reading and judging depend on besides the mail and the catalog: one per configuration."""

    trusted_authserv_ids: tuple[str, ...] = ()
    own: tuple[str, ...] = ()  # orderd's own exact addresses: mail from them is a loop
    internal_domains: tuple[str, ...] | None = None  # None: the catalog's company domain
    policy: GatePolicy = field(default_factory=GatePolicy)

    @classmethod
    def from_config(cls, cfg: Config) -> Reading:
        p = cfg.policy
        return cls(
            trusted_authserv_ids=(cfg.smtp.hostname,),
            # Exact addresses only: a colleague writing from a whole order domain (`@mycompany.test`) is a
            # person, not a loop.
            own=tuple(a for a in own_addresses(cfg) if not a.startswith("@")),
            internal_domains=internal_domains(cfg),
            policy=GatePolicy(p.confidence_bar, p.on_shortage, p.unauthenticated, p.price_tolerance,
                              p.max_delivery_horizon_days, p.new_customers),
        )


@dataclass
class Understanding:
    """What orderd read in one message, before anything is written anywhere."""

    message: Message
    classification: Classification
    thread: ThreadRef
    extraction: Extraction
    lines: list[OrderLine]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def customer_email(self) -> str:
        return (self.extraction.customer_email or self.message.sender_email).lower()

    def resolve(self, catalog: Catalog, customer_codes: dict[str, str] | None = None,
                pack_sizes: PackSizes | None = None) -> None:
        """Match the lines read to products (again, after a catalog refresh or with a customer's learned
        terms); whether body and attachment disagree is judged anew with them."""
        self.lines, disagreements = reconcile_sources(
            resolve_lines(self.extraction.lines, catalog, customer_codes, pack_sizes))
        kept = [d for d in self.extraction.doubts if d.code != "sources_disagree"]
        self.extraction.doubts = [*kept, *disagreements]

    @property
    def customer_name(self) -> str:
        email = self.customer_email
        name = self.extraction.customer_name if self.extraction.customer_email else self.message.sender_name
        return name or email.split("@", 1)[0]


def understand(
    message: Message,
    catalog: Catalog,
    reading: Reading | None = None,
    *,
    customer_codes: dict[str, str] | None = None,
    order_for_message_id: Callable[[str], str | None] = order_name_from_message_id,
) -> Understanding:
    """Classify, thread, extract and resolve: pure stages, safe to run in a worker thread.

    orderd's own Message-IDs name their order, so a reply to one threads without asking the store."""
    reading = reading or Reading()
    timings: dict[str, float] = {}
    with stage(Stage.CLASSIFY, timings):
        classification = classify(message, trusted_authserv_ids=reading.trusted_authserv_ids, own_addresses=reading.own)
    with stage(Stage.THREAD, timings):
        thread_ref = thread(message, order_for_message_id)
    with stage(Stage.EXTRACT, timings):
        # Quarantined mail (executables, MIME bombs) is kept as raw bytes, never opened further.
        quarantined = classification.kind == "quarantine"
        extraction = Extraction(language="", body_text="") if quarantined else \
            extract(message, catalog, reading.internal_domains)
        if not quarantined:
            extraction.trust = trust_reasons(message, extraction, catalog, reading.internal_domains)
    understood = Understanding(message, classification, thread_ref, extraction, [], timings)
    with stage(Stage.RESOLVE, timings):
        understood.resolve(catalog, customer_codes)
    return understood


def customer_known(understood: Understanding, catalog: Catalog) -> bool:
    """The catalog knows the customer or its company (same mail domain as a known customer)."""
    email = understood.customer_email
    domain = email.rpartition("@")[2]
    return catalog.customer_by_email(email) is not None or any(
        (c.email or "").lower().endswith("@" + domain) for c in catalog.customers)


def arrival_day(message: Message) -> date:
    """The day the mail was written (its Date header), today when it has none: past dates and relative
    dates are judged from there."""
    return message.date.date() if message.date else date.today()


def judge(understood: Understanding, free_qty: dict[str, float] | None, reading: Reading | None = None, *,
          customer_known: bool = True, today: date | None = None) -> Verdict:
    """The gate under the reading's policy; free_qty None: before stock is known."""
    reading = reading or Reading()
    return decide(understood.classification, understood.extraction, understood.lines, free_qty,
                  thread=understood.thread, policy=reading.policy,
                  today=today or arrival_day(understood.message), customer_known=customer_known)
