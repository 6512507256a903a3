"""The requested delivery date: found on lines with a delivery cue word, absolute or relative,
resolved against the message's Date header; day/month order by language unless unambiguous."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from orderd.extract.numbers import fold, parse_number

CUES = re.compile(
    r"\b(deliver\w*|delivery|ship\w*|dispatch\w*|arriv\w*|need(?:ed)?\s+(?:\w+\s+){0,3}(?:by|on|before)|"
    r"required|require[sd]?\s+by|due|no later than|latest|by|before|until|eta|lead time|"
    r"livr\w*|exp[ée]di\w*|pour|avant le|d'ici|au plus tard|"
    r"liefer\w*|lieferung|bis|spätestens|spaetestens|benötigt|zustell\w*|versand\w*|anlieferung|termin|"
    r"entreg\w*|env[ií]o|enviar|antes del?|para el|a m[aá]s tardar|plazo)\b",
    re.I,
)
_ENGLISH_CUE = re.compile(r"deliver|delivery|ship|dispatch|arriv|need|required|require|due|no later|latest|by\b|"
                          r"before|until|eta\b|lead time", re.I)
# Lines that carry other dates: these never give the delivery date unless a cue says so.
_OTHER_DATE = re.compile(r"\b(order date|date of order|invoice|datum der bestellung|bestelldatum|"
                         r"date de commande|fecha de pedido|sent|gesendet|envoy[ée]|enviado)\b", re.I)
# Lines about when someone is away or closed: their dates are no delivery date.
_CLOSED = re.compile(r"\b(closed|closure|shut ?down|holidays?|vacation|out of (?:the )?office|ferm[ée]e?s?|"
                     r"fermeture|cong[ée]s|vacances|geschlossen|betriebsferien|betriebsurlaub|urlaub|"
                     r"cerrad[oa]s?|cierre|vacaciones|festivo)\b", re.I)
# A date a person names without a day: no clerk would enter one for it without asking.
_VAGUE = re.compile(r"\b(mid[- ]\w+|early \w+|late \w+|before christmas|after christmas|before the holidays|"
                    r"mi-\w+|d[ée]but \w+|avant no[eë]l|mitte \w+|anfang \w+|vor weihnachten|"
                    r"a mediados de|principios de|antes de navidad)\b", re.I)

MONTHS: dict[str, int] = {}
for _i, _names in enumerate([
    "january jan janvier janv januar jan enero ene",
    "february feb fevrier fevr fev februar febrero",
    "march mar mars marz maerz marzo",
    "april apr avril avr abril abr",
    "may mai mayo",
    "june jun juin juni junio",
    "july jul juillet juil juli julio",
    "august aug aout agosto ago",
    "september sep sept septembre septiembre setiembre",
    "october oct octobre oktober okt octubre",
    "november nov novembre noviembre",
    "december dec decembre dezember dez diciembre dic",
], start=1):
    for _n in _names.split():
        MONTHS[_n] = _i

WEEKDAYS: dict[str, int] = {}
for _i, _names in enumerate([
    "monday mon lundi montag lunes", "tuesday tue mardi dienstag martes",
    "wednesday wed mercredi mittwoch miercoles", "thursday thu jeudi donnerstag jueves",
    "friday fri vendredi freitag viernes", "saturday sat samedi samstag sabado",
    "sunday sun dimanche sonntag domingo",
]):
    for _n in _names.split():
        WEEKDAYS[_n] = _i

_MONTH_ALT = "|".join(sorted(MONTHS, key=len, reverse=True))
_WD_ALT = "|".join(sorted(WEEKDAYS, key=len, reverse=True))
_NUM_WORD = r"\d+|one|two|three|four|five|six|eight|ten|deux|trois|quatre|cinq|six|huit|dix|zwei|drei|vier|" \
            r"funf|sechs|acht|zehn|dos|tres|cuatro|cinco|seis|ocho|diez|a|an|un|une|einer|einem|una"

_ISO = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_NUMERIC = re.compile(r"(?<![\d.])(\d{1,2})[./-](\d{1,2})[./-](\d{2,4})(?![\d])")
_SLASH_NOYEAR = re.compile(r"(?<![\d./-])(\d{1,2})/(\d{1,2})(?![\d/.-])")
_NUMERIC_NOYEAR = re.compile(r"(?<![\d.])(\d{1,2})\.(\d{1,2})\.(?!\d)")
_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th|er|e|\.|º)?\s+(?:of\s+|de\s+)?({_MONTH_ALT})\.?"
                        rf"(?:,?\s+(?:de\s+)?(\d{{4}}))?\b")
_MONTH_DAY = re.compile(rf"\b({_MONTH_ALT})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?\b")
_IN_N = re.compile(rf"\b(?:in|within|dans|sous|d'ici|en|innerhalb von|binnen)\s+({_NUM_WORD})\s+"
                   r"(days?|weeks?|jours?|semaines?|tagen?|wochen?|d[ií]as|semanas?|months?|mois|monaten?|meses)\b")
_WEEKDAY = re.compile(rf"\b(?:(next|this|coming|prochain|ce|nächsten|nachsten|kommenden|diesen|el próximo|"
                      rf"el proximo|este|próximo|proximo)\s+)?({_WD_ALT})\b(?:\s+(prochain|qui vient|next week|"
                      r"nächste woche|de la semana que viene|que viene|próximo|proximo))?", re.I)
_END_MONTH = re.compile(r"\b(end of (?:the |this )?month|end of month|month end|fin (?:du |de )?mois|"
                        r"ende (?:des |dieses )?monats|monatsende|fin(?:al)?(?:es)? de(?:l)? mes)\b", re.I)
_NEXT_WEEK = re.compile(r"\b(week after next|(?:ü|u)bern(?:ä|a)chste[rn]? woche|dans deux semaines|"
                        r"next week|semaine prochaine|n(?:ä|a)chste[rn]? woche|la pr(?:ó|o)xima semana|"
                        r"la semana que viene|tomorrow|demain|morgen|mañana|manana)\b", re.I)
# "end of next week", "fin de la semaine prochaine", "bis Ende nächster Woche", "a finales de la
# próxima semana": the Friday of that week (the working week ends there)
_END_WEEK = re.compile(r"\b(?:end of (?:the |this )?(next )?week|fin (?:de )?(?:la |cette )?semaine( prochaine)?|"
                       r"ende (?:der |dieser |diese[rn]? )?(n(?:ä|a)chste[rn]? |kommende[rn]? )?woche|"
                       r"final(?:es)? de (?:la |esta )?(pr(?:ó|o)xima )?semana( que viene)?)\b", re.I)
# "antes del día 15", "by the 15th", "le 15", "bis zum 15.": the next such day of a month
_DAY_OF_MONTH = re.compile(r"\b(?:d[ií]a|the|le|zum|am)\s+(\d{1,2})(?:st|nd|rd|th|er|\.)?(?![\d./-])"
                           r"(?!\s*(?:of\s+|de\s+)?[a-z]{3,}\b(?<!\bde))")
_END_OF_MONTH_NAMED = re.compile(rf"\b(?:end of|by the end of|fin(?: de| d'| du mois de)?|ende|"
                                 rf"finales de|final de|a finales de)\s+({_MONTH_ALT})\b(?:\s+(\d{{4}}))?", re.I)
_CW = re.compile(r"\b(?:kw|cw|week|semaine|woche|semana|wk)\.?\s*(\d{1,2})(?:\s*/\s*(\d{2,4}))?\b", re.I)

_DMY_LANGS = {"fr", "de", "es", "it", "pt", "nl"}


def _year(y: str | None, base: date) -> int:
    if not y:
        return base.year
    n = int(y)
    return n + 2000 if n < 100 else n


def _safe(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _future(d: date | None, base: date, explicit_year: bool) -> date | None:
    """A date without a year is its nearest occurrence: "15 January" written in December is next year's,
    "3 November" written on 23 November is the one just past (a delivery that happened, not one asked)."""
    if d is not None and not explicit_year and d < base - timedelta(days=7):
        following = _safe(d.year + 1, d.month, d.day)
        if following is not None and (following - base) < (base - d):
            return following
    return d


def numeric_order(lines: list[str]) -> str | None:
    """The day/month order a document's own slash dates prove ("23/11/2026" → "dmy"), or None."""
    seen = set()
    for line in lines:
        for m in _NUMERIC.finditer(fold(line)):
            if "." in m.group(0):
                continue
            a, b = int(m.group(1)), int(m.group(2))
            seen.add("dmy" if a > 12 >= b else "mdy" if b > 12 >= a else "")
    seen.discard("")
    return seen.pop() if len(seen) == 1 else None


def parse_date_in(text: str, lang: str, base: date, order: str | None = None) -> tuple[date | None, bool]:
    """The first date written in text, and whether its day/month order was a guess. order: the day/month
    order the document proves elsewhere ("dmy", "mdy"), which settles an ambiguous one."""
    f = fold(text)
    m = _ISO.search(f)
    if m:
        return _safe(int(m.group(1)), int(m.group(2)), int(m.group(3))), False
    m = _NUMERIC.search(f)
    if m:
        a, b, y = int(m.group(1)), int(m.group(2)), _year(m.group(3), base)
        if a > 12:
            return _safe(y, b, a), False
        if b > 12:
            return _safe(y, a, b), False
        dmy = order == "dmy" if order else (lang in _DMY_LANGS or "." in m.group(0) or lang != "en")
        d = _safe(y, b, a) if dmy else _safe(y, a, b)
        guessed = a != b and lang == "en" and "." not in m.group(0) and order is None
        if guessed:
            # "11/12/2026 (11 December)": the words next to it settle which reading is meant
            spelled, _ = parse_date_in(f[: m.start()] + " " * len(m.group(0)) + f[m.end():], lang, base, order)
            if spelled is not None and spelled in (_safe(y, b, a), _safe(y, a, b)):
                return spelled, False
        return d, guessed
    m = _DAY_MONTH.search(f)
    if m:
        d = _safe(_year(m.group(3), base), MONTHS[m.group(2)], int(m.group(1)))
        return _future(d, base, bool(m.group(3))), False
    m = _MONTH_DAY.search(f)
    if (m and m.group(1) not in ("may", "mar", "sat", "sun")) or (m and m.group(3)):
        d = _safe(_year(m.group(3), base), MONTHS[m.group(1)], int(m.group(2)))
        return _future(d, base, bool(m.group(3))), False
    m = _SLASH_NOYEAR.search(f)
    if m:  # "12/04": day-first outside English; in English mail both readings are real
        a, b = int(m.group(1)), int(m.group(2))
        day, month = (a, b) if lang != "en" or a > 12 else (b, a)
        guessed = lang == "en" and a <= 12 and b <= 12 and a != b
        return _future(_safe(base.year, month, day), base, False), guessed
    m = _NUMERIC_NOYEAR.search(f)
    if m:  # "15.04.": the dotted form is day-first wherever it is written
        d = _safe(base.year, int(m.group(2)), int(m.group(1)))
        return _future(d, base, False), False
    return _relative(f, base), False


def _relative(f: str, base: date) -> date | None:
    m = _CW.search(f)
    if m and 1 <= int(m.group(1)) <= 53:
        # "KW 51", "semaine 51 (vendredi)", "Friday of week 51": that week, on the day named if one is
        year = _year(m.group(2), base)
        wd = _WEEKDAY.search(f)
        try:
            monday = date.fromisocalendar(year, int(m.group(1)), 1)
        except ValueError:
            return None
        if monday < base - timedelta(days=7) and not m.group(2):
            monday = date.fromisocalendar(year + 1, int(m.group(1)), 1)
        return monday + timedelta(days=WEEKDAYS[wd.group(2)] if wd else 0)
    m = _END_OF_MONTH_NAMED.search(f)
    if m:
        month = MONTHS[m.group(1)]
        year = _year(m.group(2), base) if m.group(2) else base.year + (month < base.month)
        nxt = date(year + (month == 12), month % 12 + 1, 1)
        return nxt - timedelta(days=1)
    m = _IN_N.search(f)
    if m:
        n = parse_number(m.group(1), "en") or parse_number(m.group(1), "fr") or parse_number(m.group(1), "de") \
            or parse_number(m.group(1), "es") or 1
        unit = m.group(2)
        if unit.startswith(("week", "semaine", "woche", "semana")):
            return base + timedelta(weeks=int(n))
        if unit.startswith(("month", "mois", "monat", "mes")):
            month = base.month - 1 + int(n)
            return _safe(base.year + month // 12, month % 12 + 1, min(base.day, 28))
        return base + timedelta(days=int(n))
    m = _END_WEEK.search(f)
    if m:
        monday = base - timedelta(days=base.weekday())
        return monday + timedelta(weeks=1 if any(m.groups()) else 0, days=4)
    m = _END_MONTH.search(f)
    if m:
        nxt = date(base.year + (base.month == 12), base.month % 12 + 1, 1)
        return nxt - timedelta(days=1)
    m = _WEEKDAY.search(f)
    if m and re.search(r"next week|nachste[rn]? woche|semaine prochaine|semana que viene|proxima semana", f):
        # "Thursday next week", "jeudi de la semaine prochaine": that day of next week
        monday = base - timedelta(days=base.weekday()) + timedelta(weeks=1)
        return monday + timedelta(days=WEEKDAYS[m.group(2)])
    m = _NEXT_WEEK.search(f)
    if m:
        word = m.group(1)
        if word in ("tomorrow", "demain", "morgen", "mañana", "manana"):
            return base + timedelta(days=1)
        monday = base - timedelta(days=base.weekday())
        weeks = 2 if re.search(r"after next|bern|deux", word) else 1
        return monday + timedelta(weeks=weeks)
    m = _WEEKDAY.search(f)
    if m:
        target = WEEKDAYS[m.group(2)]
        ahead = (target - base.weekday()) % 7 or 7
        modifier = (m.group(1) or "") + " " + (m.group(3) or "")
        if re.search(r"next week|nächste woche|nachste woche|semana que viene", modifier) or (
            "next" in modifier and ahead < 3
        ):
            ahead += 7 if ahead < 7 else 0
        return base + timedelta(days=ahead)
    m = _DAY_OF_MONTH.search(f)
    if m and 1 <= int(m.group(1)) <= 31:
        day = int(m.group(1))
        for months_ahead in range(3):
            month = base.month - 1 + months_ahead
            when = _safe(base.year + month // 12, month % 12 + 1, day)
            if when is not None and when >= base:
                return when
    return None


def delivery_date(lines: list[str], lang: str, base: datetime | None) -> tuple[date | None, str | None]:
    """The requested delivery date, and why it cannot be taken as read (None when it can): a
    day/month order nobody settles, a date with no day ("mid-December"), or different dates on
    different lines. Past dates and the horizon are the gate's to judge."""
    today = (base or datetime.now()).date()
    order = numeric_order(lines)
    found_at: list[tuple[date, str]] = []
    # "5 x A by 10 December; 3 x B by 20 January": each clause may name its own date
    lines = [clause for line in lines for clause in re.split(r";\s+|(?<=[a-z])\.\s+(?=[A-Z])", line)]
    for line in lines:
        cue = CUES.search(line)
        if not cue or _CLOSED.search(line):
            continue
        if _OTHER_DATE.search(line) and not re.search(r"deliver|livr|liefer|entreg|ship", line, re.I):
            continue
        tail = line[cue.start():]
        # an English cue in other-language mail ("Delivery date: 04/01/2027" pasted from an ERP) is read
        # with English's two possible orders, unless the document proves one
        line_lang = "en" if _ENGLISH_CUE.match(cue.group(0)) else lang
        found, guessed = parse_date_in(tail, line_lang, today, order)
        if found is None:
            found, guessed = parse_date_in(line, line_lang, today, order)
        if found is None and _VAGUE.search(fold(tail)):
            return None, f"delivery date '{line.strip()}' names no day"
        if found is None:
            found = _dateparser_fallback(tail, lang, today)
        if found is None:
            continue
        if guessed:
            return None, f"delivery date '{line.strip()}' could be read day-first or month-first"
        found_at.append((found, line.strip()))
    if any(d >= today - timedelta(days=1) for d, _ in found_at):
        # "the delivery of 3 November went well … please deliver by the 30th": a date past is not asked for
        found_at = [(d, text) for d, text in found_at if d >= today - timedelta(days=7)]
    for d, text in found_at[1:]:
        if d != found_at[0][0]:
            return None, (f"different delivery dates: {found_at[0][0].isoformat()} ('{found_at[0][1]}') and "
                          f"{d.isoformat()} ('{text}')")
    return (found_at[0][0], None) if found_at else (None, None)


# Words that say a phrase is a date the rules above may not know ("mid-April", "le 3 du mois prochain")
_DATE_WORDS = re.compile(rf"\b({_MONTH_ALT}|{_WD_ALT}|week|woche|semaine|semana|month|monat|mois|mes|"
                         r"tomorrow|morgen|demain|manana|today|heute|aujourd'hui|hoy)\b")


def _dateparser_fallback(text: str, lang: str, base: date) -> date | None:
    """dateparser for what the rules miss, only on a cue line that has a date word in it (it is
    slow and eager: on any number it finds "a date")."""
    if not _DATE_WORDS.search(fold(text)):
        return None
    try:
        from dateparser.search import search_dates  # loaded on first need: it takes a second
    except ImportError:
        return None
    settings = {"RELATIVE_BASE": datetime(base.year, base.month, base.day), "PREFER_DATES_FROM": "future",
                "DATE_ORDER": "MDY" if lang == "en" else "DMY"}
    try:
        found = search_dates(text[:200], languages=[lang if lang in ("en", "fr", "de", "es") else "en"],
                             settings=settings)
    except Exception:
        return None
    for phrase, when in found or []:
        if _DATE_WORDS.search(fold(phrase)):
            return when.date()
    return None
