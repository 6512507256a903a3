"""orderd: the inbound mail server for a company's order address, turning emails into Odoo sales orders."""

__version__ = "0.1.0"
