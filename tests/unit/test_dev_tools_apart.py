"""The dev tools (orderd_dev, odoosim) are not in the orderd wheel: without them `orderd demo` says so."""

from __future__ import annotations

import builtins
from typing import Any

import pytest

from orderd import cli


@pytest.mark.parametrize("missing", ["orderd_dev", "odoosim"])
def test_demo_without_the_dev_tools_says_what_is_missing(missing: str, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    real_import = builtins.__import__

    def without(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.split(".")[0] == missing:
            raise ModuleNotFoundError(f"No module named {missing!r}", name=missing)
        return real_import(name, *args, **kwargs)

    # An installed wheel has neither package; hiding them from import is the closest a test can get.
    monkeypatch.setattr(builtins, "__import__", without)
    assert cli.main(["demo", "--once"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("orderd demo: needs ") and missing in err and "not with the orderd wheel" in err


def test_the_demos_simulator_stays_off_odoos_own_port() -> None:
    args = cli._parser().parse_args(["demo"])
    assert args.odoo_port != 8069  # where a developer's own Odoo is likely listening
