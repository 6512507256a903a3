"""Odoo access: the client (odoorpc in threads), the catalog cache and the order operations."""

from orderd.odoo.client import OdooClient, OdooError, OdooUnavailable

__all__ = ["OdooClient", "OdooError", "OdooUnavailable"]
