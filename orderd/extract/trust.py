"""Doubts about who is writing, read from the sender's address and the mail's own words.

An order from a domain that imitates a known customer's (homoglyphs, one or two letters off, another
TLD, added words), a known company's name written from a free-mail or foreign address, or a known
customer's mail that asks to ship to a new address or pay new bank details: each is a reason for a
person to look before anything ships.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from publicsuffixlist import PublicSuffixList
from rapidfuzz.distance import Levenshtein

from orderd.catalog import Catalog
from orderd.extract.numbers import fold
from orderd.records import Extraction, Message, Reason

# Mailbox providers anyone can sign up to: an address there proves nothing about a company.
FREE_MAIL = frozenset((
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.fr", "yahoo.de", "yahoo.es", "yahoo.co.uk", "ymail.com",
    "hotmail.com", "hotmail.fr", "hotmail.de", "hotmail.es", "hotmail.co.uk", "outlook.com", "outlook.fr",
    "outlook.de", "outlook.es", "live.com", "live.fr", "live.de", "msn.com", "icloud.com", "me.com", "mac.com",
    "aol.com", "proton.me", "protonmail.com", "gmx.de", "gmx.net", "gmx.com", "gmx.fr", "web.de", "t-online.de",
    "freenet.de", "orange.fr", "wanadoo.fr", "free.fr", "laposte.net", "sfr.fr", "telefonica.net", "terra.es",
    "mail.com", "zoho.com", "yandex.com", "yandex.ru", "mail.ru", "qq.com", "163.com",
))
# Letters and pairs that read alike in a From line.
_CONFUSABLE = [("rn", "m"), ("vv", "w"), ("cl", "d"), ("0", "o"), ("1", "l"), ("i", "l"), ("5", "s")]
_NEW_ADDRESS = re.compile(
    r"\b((?:new|neue[nrms]?|nouvel(?:le)?|nouveau|nuev[oa]s?)\s+(?:\w+\s+){0,2}?(?:address|adresse|anschrift|"
    r"lieferadresse|direcci[oó]n|warehouse|lager|au(?:ss|ß)enlager|standort|site|entrep[oô]t|almac[eé]n|plant|werk|"
    r"usine|planta|depot|d[ée]p[oô]t)|abweichende\w* (?:liefer)?(?:adresse|anschrift)|"
    r"new (?:delivery |shipping )?address|(?:ship|deliver|send) (?:it |them |the goods )?to (?:our|the) "
    r"(?:new|following|other|different)|different (?:delivery )?address|nouvelle adresse|(?:livrer|exp[ée]dier|"
    r"envoyer) [àa] (?:l'adresse suivante|notre nouvelle)|adresse de livraison (?:a chang[ée]|diff[ée]rente)|"
    r"neue (?:liefer)?adresse|(?:an|nach) folgende (?:liefer)?adresse|abweichende lieferadresse|"
    r"nueva direcci[oó]n|(?:enviar|entregar) a (?:la siguiente|otra|nuestra nueva) direcci[oó]n|"
    r"direcci[oó]n de entrega (?:nueva|distinta)|"
    # "abweichend von der Lieferanschrift", "instead of the address on the PO": another address than the usual
    r"abweichend\w* (?:von|zu)r? (?:der |unserer |ihrer )?(?:liefer)?(?:adresse|anschrift)|"
    r"(?:instead of|statt|au lieu de|en lugar de|en vez de) (?:the |der |l'|la )?(?:usual )?(?:delivery )?"
    r"(?:address|adresse|anschrift|lieferanschrift|direcci[oó]n)|"
    # a drop shipment: straight to the customer's own customer
    r"(?:direkt|directly|directement|directamente) (?:an|to|chez|[àa]|a) (?:unseren|unsere|our|notre|nos|nuestro|"
    r"nuestra) (?:kunden|kundin|endkunden|customer|client|cliente)\w*)",
    re.I,
)
_NEW_BANK = re.compile(
    r"\b(new (?:bank|account|iban)|bank (?:details|account) (?:have |has )?changed|changed (?:our )?bank|"
    r"nouvelles? coordonn[ée]es bancaires|nouveau (?:rib|compte|iban)|changement de (?:banque|rib)|"
    r"neue (?:bankverbindung|kontoverbindung|iban)|bankverbindung (?:hat sich )?ge[äa]ndert|"
    r"nuev[oa]s? (?:datos bancarios|cuenta|iban)|cambio de (?:banco|cuenta))\b",
    re.I,
)
_psl = PublicSuffixList()


def organisational_domain(domain: str) -> str:
    """example.co.uk for mail.example.co.uk: the part a company registers (public suffix list)."""
    domain = domain.lower().strip(".")
    return _psl.privatesuffix(domain) or domain


def _label(domain: str) -> str:
    org = organisational_domain(domain)
    suffix = _psl.publicsuffix(org) or ""
    return org[: -len(suffix) - 1] if suffix and org.endswith("." + suffix) else org.split(".")[0]


def _skeleton(text: str) -> str:
    """A form in which lookalike spellings meet: IDN decoded, accents and confusables folded."""
    try:
        text = text.encode("ascii").decode("idna") if "xn--" in text else text
    except UnicodeError:
        pass
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = text.lower()
    # Cyrillic and Greek letters that look Latin
    text = text.translate(str.maketrans("аеорсухіјѕԁɡοαν", "aeopcyxijsdgoav"))
    for a, b in _CONFUSABLE:
        text = text.replace(a, b)
    return re.sub(r"[-_.]", "", text)


def lookalike_of(domain: str, known: frozenset[str]) -> str | None:
    """The known customer domain that `domain` imitates, or None (also None for a known domain itself)."""
    domain = domain.lower()
    org = organisational_domain(domain)
    if org in known or domain in known or org in FREE_MAIL:
        return None
    label = _label(domain)
    for other in sorted(known):
        other_label = _label(other)
        if len(other_label) < 4:
            continue
        if label == other_label:
            return other  # the same name under another TLD (or "hartmann-pumpen.de.com")
        if _skeleton(label) == _skeleton(other_label):
            return other  # homoglyphs: rn for m, 0 for o, Cyrillic letters
        if len(other_label) >= 6 and Levenshtein.distance(label, other_label) <= 2:
            return other
        if other_label in label and len(label) > len(other_label):
            return other  # added words: "iberiavalves-orders"
        if org.startswith(other_label + "."):
            return other  # "iberiavalves.es.com"
    return None


@lru_cache(maxsize=8)
def _known_domains(customers: tuple[tuple[str, ...], ...]) -> frozenset[str]:
    return frozenset(organisational_domain(email.rpartition("@")[2]) for (email, *_rest) in customers if email)


_LEGAL = re.compile(r"\b(?:gmbh|ag|kg|se|sa|sas|sarl|sl|slu|s\.?l\.?|s\.?a\.?|ltd|limited|inc|llc|co|corp|plc|"
                    r"srl|spa|bv|nv|oy|ab)\.?$")


def _companies(catalog: Catalog) -> dict[str, str]:
    """Known company names (folded, legal form dropped: "Iberia Valves") → their organisational domain."""
    out: dict[str, str] = {}
    for customer in catalog.customers:
        if customer.is_company and customer.email:
            core = _LEGAL.sub("", fold(customer.name)).strip(" ,.")
            if len(core) >= 6:
                out[core] = organisational_domain(customer.email.rpartition("@")[2])
    return out


def _claimed_identity(local_part: str, text: str, catalog: Catalog) -> str | None:
    """The known company or person a mail speaks as: named in its text or signature, or spelled in the
    address's local part ("iberiavalves.compras@", "lucia.fernandez.iberia@")."""
    local = re.sub(r"[^a-z]", "", fold(local_part))
    for name, _ in _companies(catalog).items():
        if re.search(r"(?<!\w)" + re.escape(name) + r"(?!\w)", text) or (
                len(name.replace(" ", "")) >= 6 and name.replace(" ", "") in local):
            return name.title()
    for customer in catalog.customers:
        words = [w for w in re.findall(r"[a-z]{3,}", fold(customer.name))]
        if not customer.is_company and len(words) >= 2 and all(w in local for w in words):
            return customer.name
    return None


def trust_reasons(message: Message, extraction: Extraction, catalog: Catalog,
                  internal_domains: tuple[str, ...] | None = None) -> list[Reason]:
    """Reasons to doubt the sender of this mail (empty: nothing suspicious)."""
    sender = (extraction.customer_email or message.sender_email).lower()
    domain = sender.rpartition("@")[2]
    if not domain:
        return []
    internal = {d.lower() for d in (internal_domains or (catalog.email_domain,)) if d}
    org = organisational_domain(domain)
    if org in internal or domain in internal:
        return []
    reasons: list[Reason] = []
    known = _known_domains(tuple((c.email or "",) for c in catalog.customers))
    imitated = lookalike_of(domain, known | frozenset(internal))
    if imitated:
        reasons.append(Reason("sender_lookalike", f"sender domain {domain} imitates {imitated}"))
    elif org not in known:
        text = fold(f"{message.sender_name}\n{extraction.full_text[:4000]}")
        claimed = _claimed_identity(sender.rpartition("@")[0], text, catalog)
        if claimed:
            where = "a free-mail address" if org in FREE_MAIL else domain
            reasons.append(Reason("sender_claims_company", f"writes as {claimed} from {where}, not from the "
                                                           "address Odoo knows"))
    is_known_sender = catalog.customer_by_email(sender) is not None or org in known
    if is_known_sender or reasons:
        if _NEW_ADDRESS.search(extraction.body_text):
            reasons.append(Reason("new_delivery_address", "asks to deliver to a new or different address"))
        if _NEW_BANK.search(extraction.body_text):
            reasons.append(Reason("new_bank_details", "mentions new bank details"))
    return reasons
