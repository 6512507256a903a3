"""Prometheus metrics orderd exports on /metrics, and the per-message RPC counter."""

from __future__ import annotations

import contextvars

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

MESSAGES = Counter("orderd_messages", "Messages processed, by outcome", ["outcome"], registry=REGISTRY)
GATE_REASONS = Counter(
    "orderd_gate_reasons_total",
    "Reasons the confirmation gate sent an order to review, by reason code",
    ["reason"],
    registry=REGISTRY,
)
STAGE_SECONDS = Histogram(
    "orderd_stage_seconds",
    "Time spent in each pipeline stage",
    ["stage"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
SMTP_REPLIES = Counter("orderd_smtp_replies", "SMTP replies sent, by code", ["code"], registry=REGISTRY)
RPC_CALLS = Counter("orderd_odoo_rpc_calls", "Odoo RPC calls, by model and method", ["model", "method"],
                    registry=REGISTRY)
RPC_ERRORS = Counter("orderd_odoo_rpc_errors", "Odoo RPC calls that failed, by kind", ["kind"], registry=REGISTRY)
RPC_PER_MESSAGE = Histogram(
    "orderd_odoo_rpc_calls_per_message", "Odoo RPC calls made for one message",
    buckets=(1, 2, 4, 6, 8, 10, 15, 20, 30, 50), registry=REGISTRY,
)
OUTBOX_DEPTH = Gauge("orderd_outbox_depth", "Replies waiting to be sent", registry=REGISTRY)
OUTBOX_SENT = Counter("orderd_outbox_sent", "Replies handed to the relay", registry=REGISTRY)
OUTBOX_FAILURES = Counter("orderd_outbox_failures", "Relay attempts that failed, by kind (retry, permanent)",
                          ["kind"], registry=REGISTRY)

# RPC calls made on behalf of the message being processed: the pipeline sets a fresh list per message,
# the Odoo client appends to it, so the count is a log field and a histogram observation.
rpc_calls_for_message: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "rpc_calls_for_message", default=None
)


def count_rpc(model: str, method: str) -> None:
    RPC_CALLS.labels(model, method).inc()
    calls = rpc_calls_for_message.get()
    if calls is not None:
        calls.append(f"{model}.{method}")
