"""The corpus in fixtures/emails is read at least as well as recorded, and nothing is confirmed wrong."""

from __future__ import annotations

from orderd.accuracy import EXACT_MATCH_FLOOR, run


def test_corpus_accuracy_floor_and_no_wrong_confirmation() -> None:
    report = run()
    assert len(report.outcomes) >= 12
    assert report.wrong_confirmations == []
    assert report.exact_match >= EXACT_MATCH_FLOOR, [o.name for o in report.outcomes if not o.exact]
    assert all(o.reasons for o in report.outcomes if o.got["decision"] == "needs_review")
