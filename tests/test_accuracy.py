"""Every corpus is read at least as well as recorded, and nothing is confirmed wrong."""

from __future__ import annotations

import json

import pytest

from orderd.accuracy import (
    FLOORS,
    VARIANT_AGREEMENT_FLOOR,
    corpora,
    load_history,
    main,
    record_first_look,
    run,
    variant_agreement,
)


@pytest.mark.parametrize("name", sorted(corpora()))
def test_corpus_floor_and_no_wrong_confirmation(name: str) -> None:
    report = run(corpora()[name])
    assert len(report.outcomes) >= 12
    assert report.wrong_confirmations == []
    assert report.exact_match >= FLOORS.get(name, 0.0), [o.name for o in report.outcomes if not o.exact]
    assert all(o.reasons for o in report.outcomes if o.got["decision"] == "needs_review")


def test_every_blind_set_has_a_first_look_and_a_floor() -> None:
    """A blind set is scored before anything is changed for it; the figure stays in the history."""
    looked = {entry["set"] for entry in load_history()}
    for name in corpora():
        if name.startswith("blind/"):
            assert name in looked, f"{name} has no first-look figure"
            assert name in FLOORS, f"{name} has no recorded floor"


def test_command_line_scores_one_corpus(capsys) -> None:
    assert main(["--corpus", str(corpora()["blind/first"]), "--no-variants"]) == 0
    assert "30 emails" in capsys.readouterr().out


def test_first_look_is_recorded_once(tmp_path) -> None:
    history = tmp_path / "history.json"
    entry = record_first_look("blind/first", "writer 0", "test", "abc123", path=history, today="2026-11-28")
    assert entry["emails"] == 30 and entry["set"] == "blind/first"
    assert json.loads(history.read_text())["first_looks"][0]["date"] == "2026-11-28"
    with pytest.raises(SystemExit, match="no longer blind"):
        record_first_look("blind/first", "writer 0", "test", "abc123", path=history)


def test_variants_read_like_their_originals_and_confirm_nothing_wrong() -> None:
    """Signature, quoted old order, HTML only, Outlook table, cp1252/QP, base64, typography, reordered
    lines, forwarded by a colleague: each variant of every corpus email must be read like its original."""
    paths = [p for folder in corpora().values() for p in sorted(folder.glob("*.eml"))
             if p.with_suffix(".json").exists()]
    result = variant_agreement(paths)
    assert result["variants"] > 3000
    assert result["wrong_confirmations"] == []
    assert result["agreement"] >= VARIANT_AGREEMENT_FLOOR, result["differing"]
