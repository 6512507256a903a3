"""Language of a message, with py3langid restricted to languages customers plausibly write in."""

from __future__ import annotations

import re
import threading

from py3langid.langid import MODEL_FILE, LanguageIdentifier

SUPPORTED = ("en", "fr", "de", "es")
_CANDIDATES = ["en", "fr", "de", "es", "it", "pt", "nl", "pl", "cs", "sv", "da", "tr", "ro", "hu"]
_IDENTIFIER: LanguageIdentifier | None = None
_LOCK = threading.Lock()


def _identifier() -> LanguageIdentifier:
    global _IDENTIFIER
    with _LOCK:
        if _IDENTIFIER is None:
            ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            ident.set_languages(_CANDIDATES)
            _IDENTIFIER = ident
        return _IDENTIFIER


def detect(text: str, hint: str | None = None) -> str:
    """ISO 639-1 code. Codes, numbers and addresses are removed first (they are language-less);
    a short or uncertain text falls back to the hint (the customer's language in the catalog)."""
    words = re.sub(r"\S*\d\S*|\S+@\S+|https?://\S+|[|_*#>=-]+", " ", text)
    words = " ".join(words.split())[:2000]
    if len(words) < 12:
        return hint or "en"
    lang, prob = _identifier().classify(words)
    if prob < 0.6 and hint:
        return hint
    return str(lang)
