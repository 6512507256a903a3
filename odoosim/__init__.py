"""Odoo 18 JSON-RPC simulator: the models and methods orderd uses, behind odoorpc's endpoints.

See README.md in this package for what is implemented and the fault switches.
"""

from odoosim.server import Faults, RunningSim, main, make_app, start
from odoosim.sim import OdooSim

__all__ = ["Faults", "OdooSim", "RunningSim", "main", "make_app", "start"]
