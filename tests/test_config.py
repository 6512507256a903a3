"""Configuration: TOML plus ORDERD_* overrides; bad input named by its key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from orderd import config


def test_defaults_match_the_design_contract() -> None:
    cfg = config.load(None, {})
    assert cfg.smtp.listen == "127.0.0.1:2525"
    assert cfg.smtp.addresses == ["orders@mycompany.test"]
    assert cfg.smtp.max_message_size == 26214400
    assert (cfg.odoo.url, cfg.odoo.db, cfg.odoo.user, cfg.odoo.password) == (
        "http://127.0.0.1:8069", "orders", "admin", "admin")
    assert (cfg.relay.host, cfg.relay.port, cfg.relay.from_) == ("127.0.0.1", 2526, "orders@mycompany.test")
    assert cfg.http.listen == "127.0.0.1:8080"
    assert cfg.store.url == "sqlite:///var/orderd.sqlite3"
    assert cfg.policy.forward_non_orders_to == "sales@mycompany.test"


def test_toml_file_then_environment_override(tmp_path: Path) -> None:
    path = tmp_path / "orderd.toml"
    path.write_text(
        '[smtp]\nlisten = "0.0.0.0:25"\naddresses = ["orders@acme.test", "@po.acme.test"]\n'
        '[odoo]\nurl = "https://erp.acme.test"\ntimeout = 10\n[relay]\nfrom = "orders@acme.test"\n'
    )
    cfg = config.load(path, {"ORDERD_ODOO_URL": "http://127.0.0.1:9999", "ORDERD_SMTP_MAX_MESSAGE_SIZE": "2048",
                             "ORDERD_RELAY_FROM": "robot@acme.test"})
    assert cfg.smtp.listen == "0.0.0.0:25"
    assert cfg.smtp.addresses == ["orders@acme.test", "@po.acme.test"]
    assert cfg.odoo.url == "http://127.0.0.1:9999"
    assert cfg.odoo.timeout == 10.0
    assert cfg.smtp.max_message_size == 2048
    assert cfg.relay.from_ == "robot@acme.test"


def test_addresses_from_environment_are_comma_separated() -> None:
    cfg = config.load(None, {"ORDERD_SMTP_ADDRESSES": "orders@a.test, po@a.test"})
    assert cfg.smtp.addresses == ["orders@a.test", "po@a.test"]


@pytest.mark.parametrize(
    ("toml", "env", "named"),
    [
        ('[smtp]\nlisen = "127.0.0.1:25"\n', {}, "smtp.lisen"),
        ('[smpt]\nlisten = "127.0.0.1:25"\n', {}, "[smpt]"),
        ('[smtp]\nmax_message_size = "big"\n', {}, "smtp.max_message_size"),
        ('[smtp]\nlisten = "nowhere"\n', {}, "smtp.listen"),
        ('[odoo]\nurl = "erp.acme.test"\n', {}, "odoo.url"),
        ('[relay]\ntls = "sometimes"\n', {}, "relay.tls"),
        ('[policy]\nconfidence_bar = 1.5\n', {}, "policy.confidence_bar"),
        ('[store]\nurl = "mysql://x"\n', {}, "store.url"),
        ("", {"ORDERD_RELAY_PORT": "twenty-five"}, "ORDERD_RELAY_PORT"),
        ('[smtp]\naddresses = ["not-an-address"]\n', {}, "smtp.addresses"),
    ],
)
def test_bad_configuration_is_named(tmp_path: Path, toml: str, env: dict[str, str], named: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    with pytest.raises(config.ConfigError) as info:
        config.load(path, env)
    assert named in str(info.value)


def test_unreadable_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[smtp\nlisten=")
    with pytest.raises(config.ConfigError, match=r"broken\.toml"):
        config.load(path, {})


def test_orderd_check_reports_a_bad_key_and_fails(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[odoo]\npasword = "x"\n')
    proc = subprocess.run([sys.executable, "-m", "orderd.cli", "check", "--config", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "odoo.pasword" in proc.stderr


def test_every_key_is_documented_in_the_readme_and_the_example() -> None:
    import dataclasses

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    example = (root / "deploy" / "orderd.toml.example").read_text(encoding="utf-8")
    missing = []
    for section in dataclasses.fields(config.Config):
        if section.name == "profiles":
            continue
        for key in dataclasses.fields(section.default_factory):  # type: ignore[arg-type]
            name = key.name.rstrip("_")
            for doc_name, text in (("README.md", readme), ("orderd.toml.example", example)):
                block = text.split(f"[{section.name}]", 1)[-1]
                if f"[{section.name}]" not in text or f"\n{name} =" not in block.split("\n[", 1)[0]:
                    missing.append(f"{doc_name}: {section.name}.{name}")
    assert not missing, missing
