"""The corpus in fixtures/emails is read at least as well as recorded, and nothing is confirmed wrong."""

from __future__ import annotations

from orderd.accuracy import BLIND, BLIND_FLOOR, EXACT_MATCH_FLOOR, main, run


def test_corpus_accuracy_floor_and_no_wrong_confirmation() -> None:
    report = run()
    assert len(report.outcomes) >= 12
    assert report.wrong_confirmations == []
    assert report.exact_match >= EXACT_MATCH_FLOOR, [o.name for o in report.outcomes if not o.exact]
    assert all(o.reasons for o in report.outcomes if o.got["decision"] == "needs_review")


def test_blind_corpus_floor_and_no_wrong_confirmation() -> None:
    """fixtures/blind was written without reading the rules: how the engine generalises."""
    report = run(BLIND)
    assert len(report.outcomes) >= 30
    assert report.wrong_confirmations == []
    assert report.exact_match >= BLIND_FLOOR, [o.name for o in report.outcomes if not o.exact]
    assert all(o.reasons for o in report.outcomes if o.got["decision"] == "needs_review")


def test_command_line_scores_another_corpus(capsys) -> None:
    assert main(["--corpus", str(BLIND)]) == 0
    assert "corpus: 30 emails" in capsys.readouterr().out
