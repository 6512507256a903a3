"""What the new text of a mail asks for: an order, a change or cancellation of an existing order, a
request for quotation, a question, a notification, or something else.

Told apart before any line is trusted, because codes and quantities appear in all of them: an invoice
question lists the invoice's lines, a cancellation names the lines to cancel, a request for quotation
is a clean table. Cues are multilingual (mail mixes languages) and read on the new text and the subject
only, never on quoted history. Nothing is confirmed without positive evidence of ordering intent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from orderd.extract.numbers import fold

INTENTS = ("order", "rfq", "change", "cancel", "question", "notification", "other")


@dataclass(frozen=True)
class Intent:
    kind: str  # one of INTENTS
    evidence: str = ""  # the words that decided it (shown to the salesperson)
    ordering: bool = False  # positive evidence of ordering intent was found


def _alt(*words: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])(?:" + "|".join(words) + r")(?![\w-])")


# All patterns run on folded text (lower case, no accents).
_ORDER = _alt(
    r"(?:purchase|sales?) order", r"p\.?o\.?(?: ?(?:no|nr|number|#|n))?", r"order(?:ing)?", r"we order",
    r"please (?:send|supply|deliver|ship|book|dispatch|provide|prepare|process|enter)",
    r"kindly (?:send|supply|deliver|ship|book|dispatch|process)", r"(?:we|i)(?:'d| would) like(?: to order)?",
    r"(?:we|i) (?:need|require|want)", r"go ahead", r"proceed with", r"place (?:an|the|this|our) order",
    r"bestell\w*", r"auftrag\w*", r"(?:bitte|wir) (?:um )?(?:liefer\w*|senden|schicken|versenden)",
    r"liefern sie", r"wir (?:benotigen|brauchen)", r"benotigen", r"abruf\w*",
    r"commande\w*", r"command(?:er|ons|ez)", r"bon de commande", r"merci de (?:nous )?(?:livrer|envoyer|expedier|"
    r"preparer|faire parvenir)", r"veuillez (?:nous )?(?:livrer|envoyer|expedier|preparer)",
    r"(?:nous )?avons besoin", r"il nous (?:faut|faudrait)", r"pourriez-vous (?:nous )?(?:livrer|envoyer|expedier)",
    r"pedido\w*", r"pedimos", r"necesita\w*", r"nos (?:hace|hacen) falta", r"envien\w*", r"enviad\w*",
    r"(?:por favor|favor de) (?:enviar|enviarnos|suministrar|despachar|servir)", r"solicitamos", r"quisi\w+",
    r"orden de compra", r"nos gustaria (?:pedir|encargar|recibir)", r"encarg\w*",
)
_CANCEL = _alt(r"cancel\w*", r"annul\w*", r"storn\w*", r"anul\w*", r"call off", r"widerruf\w*",
               r"zuruckzieh\w*", r"no longer (?:need|require)ed?", r"brauchen (?:wir )?(?:\w+ )?nicht mehr",
               r"n'avons plus besoin", r"ya no (?:lo |la |los |las )?necesitamos")
_CHANGE = _alt(
    r"change\w*", r"modif\w*", r"amend\w*", r"update the", r"correct(?:ion)? (?:of|to) (?:the|our|my)",
    r"increase", r"reduce", r"instead of", r"replace", r"add (?:to|on) (?:the|our|my)",
    r"ander\w*", r"abander\w*", r"erhoh\w*", r"reduzier\w*", r"anstatt", r"anstelle", r"statt",
    r"changer", r"remplac\w*", r"au lieu de", r"augment\w*", r"redui\w*", r"ajout\w* a (?:la|notre) commande",
    r"cambi\w*", r"en lugar de", r"en vez de", r"aument\w*", r"reduc\w*", r"sustitu\w*", r"anad\w* al pedido",
    # moving a delivery, adding to the same order
    r"bring forward", r"postpone\w*", r"push (?:back|out)", r"reschedul\w*", r"move the delivery",
    r"vorzieh\w*", r"verschieb\w*", r"avancer", r"reporter", r"decaler", r"adelant\w*", r"pospon\w*",
    r"aplaz\w*", r"retras\w*", r"(?:to|on) the same order", r"a la meme commande",
    r"zur (?:selben|gleichen) bestellung",
    r"al mismo pedido", r"(?:additional|further|more) .{0,30}(?:to|on) (?:the|this|that|our) order",
)
# An existing order: ours by name (S00042), or theirs referred to as already placed.
_EXISTING = re.compile(
    r"\bs\d{5}\b|\b(?:our|my|the|this|previous|last|earlier|existing) (?:purchase )?order\b|"
    r"\border (?:no\.?|number|nr\.?|#) ?\w*\d|\bpo[\s#:.-]*\w*\d|"
    r"\b(?:notre|ma|la|cette) commande\b|\bcommande (?:n[o°]|du|numero)|"
    r"\b(?:unsere[rn]?|meine[rn]?|die|der) (?:bestellung|auftrag)|\bbestellung (?:nr|vom|nummer)|\bauftrag (?:nr|vom)|"
    r"\b(?:nuestro|mi|el|este) pedido\b|\bpedido (?:n[o°º]|del|numero)|"
    r"\b(?:del|al|mismo) pedido\b|\bde (?:la|notre) commande\b|\bder bestellung\b|\bof (?:the|our|my) order\b"
)
# A request for prices or an offer, not a commitment: "a quote for", "how much", "Preisanfrage", "devis".
_RFQ = _alt(
    r"(?:send|give|provide|need|want|request|ask for|like|have|get|share) (?:us |me )?(?:a |an |your |the )?"
    r"(?:(?:best|current|updated) )?(?:quot\w*|quote|offer|prices?|pricing|price list|proposal)",
    r"quot(?:e|ation) (?:for|on|of)", r"request for (?:quotation|quote|proposal|pricing|prices)", r"rfq",
    r"how much (?:is|are|would|will|for)", r"what (?:is|are|would be) (?:the|your) (?:price|cost)\w*",
    r"price (?:and|&) (?:availability|lead time)", r"pricing (?:and|&) (?:availability|lead time)",
    r"(?:um |ein |ihr |unverbindliches )?angebot (?:fur|uber|bitte|zu)", r"bitte um (?:ein |ihr )?angebot",
    r"preisanfrage", r"anfrage (?:fur|uber|zu)", r"was kostet", r"was kosten", r"kostenvoranschlag",
    r"devis", r"demande de (?:prix|devis|cotation|tarif)", r"offre de prix",
    r"(?:votre|une|vos) (?:meilleure\w* )?offres? (?:pour|sur|concernant)", r"quel (?:est|serait) (?:le|votre) prix",
    r"combien (?:coute|coutent|couterait)", r"vos (?:meilleurs )?prix", r"(?:faire|etablir) une offre",
    r"cotizaci\w*", r"cotizar\w*", r"presupuesto", r"cuanto (?:cuesta|cuestan|costaria)",
    r"(?:su|vuestra|una) (?:mejor )?oferta (?:para|de|por)", r"solicitud de (?:precio|oferta)",
)
_NOTIFICATION = _alt(
    r"thank(?:s| you) for (?:your |the )?(?:order )?confirmation", r"(?:thanks|thank you),? (?:well |duly )?received",
    r"(?:well|duly|safely) received", r"received (?:your|the) (?:order )?confirmation",
    # "Recibido esta mañana, todo correcto", "alles gut angekommen", "tout est bien arrivé": goods received
    r"(?:received|recibid[oa]s?|recu\w*|erhalten|angekommen|arrive\w*|llegad[oa]s?|llego)[ ,:]+(?:\w+[ ,:]+){0,4}"
    r"(?:all|todo|tout|alles) (?:\w+ )?(?:correct\w*|ok|fine|good|bien|perfect\w*|conforme|in ordnung|korrekt|"
    r"vollstandig|en orden)",
    r"(?:all|todo|tout|alles) (?:\w+ )?(?:correct\w*|conforme|korrekt|in ordnung|en orden)[ ,:]+(?:\w+[ ,:]+){0,3}"
    r"(?:received|recibid[oa]s?|recu\w*|erhalten|angekommen|arrive\w*|llegad[oa]s?)",
    r"confirmation received", r"received,? thank(?:s| you)", r"gracias,? recibid[oa]", r"recibid[oa],? gracias",
    r"accusons (?:bonne )?r[ée]ception", r"r[ée]ception conforme", r"bien re[çc]u,? merci", r"merci,? bien re[çc]u",
    r"(?:wir )?best[äa]tigen (?:ihnen )?den (?:erhalt|empfang)", r"empfang best[äa]tigt",
    r"(?:danke,? )?(?:dankend )?erhalten,? danke", r"goods received",
    r"(?:ware|lieferung|sendung|auftragsbestatigung|bestatigung) (?:\w+ )?(?:dankend |vollstandig |gut )?erhalten",
    r"hemos recibido (?:el|la|los|las|su|vuestr\w*) (?:confirmaci\w*|mercanc\w*|pedido|entrega|material)",
    r"nous avons bien recu (?:la|votre|vos|les) (?:confirmation|marchandise|livraison|colis)",
    r"tracking (?:number|no|link)", r"has (?:been )?shipped", r"out for delivery", r"shipment notification",
    r"delivery note", r"invoice (?:attached|enclosed)", r"newsletter", r"webinar", r"unsubscribe",
    r"invitation:", r"meeting", r"accepted:", r"bien recu\w*", r"merci pour (?:la|votre) confirmation",
    r"avis d'expedition", r"vielen dank fur (?:die|ihre) (?:auftrags)?bestatigung", r"versandbestatigung",
    r"sendungsverfolgung", r"gracias por (?:la|su) confirmaci\w*", r"numero de seguimiento",
    r"einladung", r"reunion", r"out of (?:the )?office", r"abwesen\w*", r"absent\w*", r"ausente",
)
_QUESTION_WORD = re.compile(
    r"^\s*(?:do|does|did|can|could|would|will|is|are|have|has|what|when|where|why|how|which|may|"
    r"avez|pouvez|pourriez|est-ce|quel\w*|quand|comment|pourquoi|combien|"
    r"haben|konnen|konnten|wann|wie|warum|welche\w*|ist|sind|gibt|"
    r"tienen|pueden|podrian|cuando|como|por que|cual\w*|cuanto\w*|hay|es posible)\b"
)
_INVOICE_OR_DELIVERY_TOPIC = _alt(r"invoice\w*", r"facture\w*", r"rechnung\w*", r"factura\w*", r"credit note",
                                  r"avoir", r"gutschrift", r"abono", r"lieferschein", r"albaran",
                                  r"bon de livraison", r"payment", r"paiement", r"zahlung", r"pago")


# "could you send us your best offer", "pourriez-vous nous faire parvenir votre meilleure offre": what is
# asked to be sent is paperwork about goods (an offer, prices, a catalogue), not the goods.
_NOT_PAPERWORK = (r"(?! (?:us |me |nous |)?(?:\w+ ){0,2}(?:quot|offer|offre|oferta|price|pricing|prix|precio|"
                  r"tarif|devis|presupuesto|cotizacion|catalog|brochure|documentation|info|details|sample|"
                  r"echantillon|muestra|fiche|ficha|datasheet|certificat|certificado|certificate))")
# Words that commit to buying, even inside a question ("could you send 12 …?") or beside a price.
_STRONG_ORDER = _alt(
    r"please (?:send|supply|deliver|ship|book|dispatch)", r"we order", r"purchase order",
    r"(?:wir|ich) bestellen", r"bestellen (?:wir|hiermit|sie|bitte)", r"hiermit bestell\w*", r"neue bestellung",
    r"folgende\w* (?:bestellung|artikel|positionen)", r"bestellung\s*:", r"(?:mochten|wurden) .{0,30}bestellen",
    r"liefern sie", r"commandons", r"bon de commande", r"merci de (?:nous )?(?:livrer|envoyer|expedier)",
    r"pedimos", r"orden de compra", r"envien\w*", r"place (?:an|the|this|our) order", r"go ahead",
    r"(?:could|can|would) you (?:please )?(?:send|supply|deliver|ship|dispatch)" + _NOT_PAPERWORK,
    r"pourriez-vous (?:nous )?(?:envoyer|livrer|expedier|faire parvenir)" + _NOT_PAPERWORK,
    r"pouvez-vous (?:nous )?(?:envoyer|livrer)" + _NOT_PAPERWORK,
    r"(?:konnten|konnen|wurden) sie (?:uns )?(?:bitte )?(?:\w+ )?(?:liefern|senden|schicken|zusenden)",
    r"(?:podrian|pueden|podrias|puedes) (?:enviarnos|enviar|mandarnos|mandar|suministrar|servirnos)" + _NOT_PAPERWORK,
    # "os hacemos un nuevo pedido", "voici notre nouvelle commande", "here is our new order": a new order,
    # whatever a thank-you around it says
    r"nuevo pedido", r"pedido nuevo", r"(?:hacemos|pasamos|realizamos|cursamos|os paso|le paso|te paso|os envio|"
    r"les envio) (?:el |un |nuestro |este |otro )?(?:nuevo )?pedido", r"nouvelle commande",
    r"voici (?:notre|ma|une) (?:nouvelle )?commande", r"nous (?:vous )?passons (?:une |la |notre )?commande",
    r"new order", r"here is (?:our|my|a) (?:new )?(?:order|po|purchase order)",
    r"please find (?:our|my|the) (?:new )?(?:order|po|purchase order)", r"anbei (?:unsere|die) (?:neue )?bestellung",
    r"hier (?:ist|kommt) (?:unsere|die) (?:neue )?bestellung",
    r"(?:we|i) (?:hereby )?confirm", r"confirmamos", r"(?:nous )?confirmons", r"je confirme",
    r"(?:wir )?bestatigen (?:hiermit|ihnen|die|den|das)", r"hiermit bestatigen",
    r"(?:we )?accept (?:your|the) (?:offer|quote|quotation)", r"aceptamos", r"nous acceptons", r"wir nehmen .{0,20}an",
    r"(?:please )?(?:enter|book|process|register|record) (?:it|this|the order|our order)", r"bitte (?:erfassen|buchen)",
    r"merci de (?:saisir|enregistrer|traiter)", r"(?:por favor )?(?:registr|tramit|grab)\w+ (?:el|este|nuestro) pedido",
)


def ordering_words(new_text: str, subject: str) -> bool:
    """Any word of ordering in the new text or the subject (then a product named without a quantity is
    still an order line, to be asked about)."""
    return bool(_ORDER.search(fold(new_text)) or _ORDER.search(fold(subject)))


def _first(pattern: re.Pattern[str], text: str) -> str:
    m = pattern.search(text)
    return m.group(0) if m else ""


def _questions(text: str) -> list[str]:
    sentences = re.split(r"(?<=[.!?])\s+|\n", text)
    return [s for s in sentences if s.strip().endswith("?") or (_QUESTION_WORD.match(s) and "?" in s)]


def read_intent(new_text: str, subject: str, *, has_lines: bool, lines_only: bool,
                order_document: bool = False, calendar: bool = False, document_intent: str | None = None) -> Intent:
    """The intent of the new text. has_lines: order lines with quantities were read; lines_only: the new
    text is little more than those lines (a bare list sent to the order address is an order);
    order_document: an attachment is an order document (a purchase order file with an item table);
    document_intent: what a structured order document (EDIFACT, UBL) declares itself to be, which
    its covering text cannot overrule."""
    if document_intent in ("change", "cancel"):
        return Intent(document_intent, f"the attached order document is a {document_intent}", False)
    body = fold(new_text)
    subj = fold(subject)
    both = f"{subj}\n{body}"
    if calendar:
        return Intent("notification", "calendar invitation")
    cancel = _first(_CANCEL, both)
    ordering = _first(_ORDER, both)
    existing = _first(_EXISTING, both)
    if cancel and (existing or not has_lines):
        return Intent("cancel", cancel, bool(ordering))
    change = _first(_CHANGE, body)
    if change and existing and not re.search(r"\bnew order\b|\bnouvelle commande\b|\bneue bestellung\b|"
                                             r"\bnuevo pedido\b", both):
        return Intent("change", f"{change} … {existing}", bool(ordering))
    rfq = _first(_RFQ, both)
    questions = _questions(body)
    strong_order = bool(_STRONG_ORDER.search(both))
    if rfq and not strong_order:
        return Intent("rfq", rfq, bool(ordering))
    notification = _first(_NOTIFICATION, both)
    if notification and not strong_order:
        return Intent("notification", notification)
    # An invoice, payment or delivery note is the mail's topic when the subject names it, or a question does;
    # an order mentions them too ("invoice address", "paiement à 30 jours").
    asked_topics = (_first(_INVOICE_OR_DELIVERY_TOPIC, fold(q)) for q in questions)
    topic = _first(_INVOICE_OR_DELIVERY_TOPIC, subj) or next((t for t in asked_topics if t), "")
    if questions and existing and not strong_order:
        # "when will order PC-26/1187 ship?", "¿cuándo sale el resto de nuestro pedido?"
        return Intent("question", f"{existing} … {questions[0].strip()[:60]}")
    if questions and (not (ordering and has_lines) or topic) and not strong_order:
        return Intent("question", questions[0].strip()[:80])
    if topic and not strong_order and not order_document:
        return Intent("question", topic)
    if ordering or order_document:
        return Intent("order", ordering or "order document", True)
    if has_lines and lines_only:
        return Intent("order", "a list of items and quantities sent to the order address", True)
    if has_lines:
        return Intent("order", "", False)  # lines, but nothing says they are ordered
    return Intent("other", "")
