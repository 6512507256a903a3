"""Odoo's exceptions and its JSON-RPC error envelope, as Odoo 18 sends them.

The envelope is what odoorpc turns into ``odoorpc.error.RPCError``: HTTP 200 with
``{"error": {"code": 200, "message": "Odoo Server Error", "data": {...}}}``. ``data.name`` is the
exception's dotted class path (``odoo.exceptions.UserError``, ``builtins.ValueError``), which is
what callers match on, so the simulator's own exceptions carry Odoo's names, not their Python ones.
"""

from __future__ import annotations

from typing import Any

TRACEBACK_PLACEHOLDER = "<traceback omitted>"


class OdooError(Exception):
    """An error that reaches the client under Odoo's exception name."""

    odoo_name = "odoo.exceptions.UserError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UserError(OdooError):
    odoo_name = "odoo.exceptions.UserError"


class ValidationError(OdooError):
    odoo_name = "odoo.exceptions.ValidationError"


class AccessError(OdooError):
    odoo_name = "odoo.exceptions.AccessError"


class AccessDenied(OdooError):
    odoo_name = "odoo.exceptions.AccessDenied"

    def __init__(self, message: str = "Access Denied") -> None:
        super().__init__(message)


class MissingError(OdooError):
    odoo_name = "odoo.exceptions.MissingError"


class OdooValueError(OdooError):
    """Odoo raises plain ``ValueError`` for bad fields, domains and selection values."""

    odoo_name = "builtins.ValueError"


class OdooAttributeError(OdooError):
    odoo_name = "builtins.AttributeError"


class OdooTypeError(OdooError):
    odoo_name = "builtins.TypeError"


class NotSimulated(OdooError):
    """A method that exists in Odoo but that this simulator does not implement: refused loudly."""

    odoo_name = "builtins.NotImplementedError"


def missing(model: str, ids: list[int], uid: int = 2) -> MissingError:
    """Odoo 18's MissingError text for records that do not exist (or were deleted)."""
    shown = ", ".join(str(i) for i in ids) + ("," if len(ids) == 1 else "")
    return MissingError(
        f"Record does not exist or has been deleted.\n(Record: {model}({shown}), User: {uid})"
    )


def mandatory_field(model_description: str, model: str, field_string: str, field: str) -> ValidationError:
    """The ValidationError Odoo 18 derives from a NOT NULL violation (service/model.py)."""
    return ValidationError(
        "The operation cannot be completed:\n"
        "- Create/update: a mandatory field is not set.\n"
        "- Delete: another model requires the record being deleted. If possible, archive it instead.\n\n"
        f"Model: {model_description} ({model})\n"
        f"Field: {field_string} ({field})\n"
    )


def error_name(exc: BaseException) -> str:
    if isinstance(exc, OdooError):
        return exc.odoo_name
    cls = type(exc)
    return f"{cls.__module__}.{cls.__qualname__}"


def error_message(exc: BaseException) -> str:
    if isinstance(exc, OdooError):
        return exc.message
    return str(exc)


def envelope(request_id: Any, exc: BaseException) -> dict[str, Any]:
    """Odoo 18's JSON-RPC error response for ``exc`` (no ``exception_type`` key since Odoo 17)."""
    message = error_message(exc)
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "error": {
            "code": 200,
            "message": "Odoo Server Error",
            "data": {
                "name": error_name(exc),
                "debug": TRACEBACK_PLACEHOLDER,
                "message": message,
                "arguments": [message],
                "context": {},
            },
        },
    }


class NamedError(OdooError):
    """An error reported under an arbitrary exception path (a psycopg2 error, a KeyError...)."""

    def __init__(self, odoo_name: str, message: str) -> None:
        super().__init__(message)
        self.odoo_name = odoo_name
