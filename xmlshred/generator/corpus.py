"""Synthetic credit-application documents shaped like real Provenir XML.

Every value is invented: names come from small made-up pools, SSNs use the
666 area number (never issued), phones the 555-01xx range, e-mail addresses
the example.* domains. Documents are deterministic: document ``key`` of a
corpus with seed ``seed`` is built from ``random.Random`` seeded with both,
so any slice of a corpus can be regenerated on its own.

The business part (``/Provenir/Request/CustData/application``) carries every
attribute that ``examples/credit_card/contract.json`` reads; the ``realistic``
profile adds a bulky ``Reports`` section after it, which no mapping reads, so
that documents have the size and shape of production ones.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

PROFILES = ("realistic", "small")
PRODUCTS = ("cc", "rl")
"""Product lines: ``cc`` credit-card applications (this module), ``rl`` recreational lending (``recreational``)."""

EDGE_CASES = (
    "blank_contact_fields",
    "duplicate_con_id",
    "invalid_role",
    "overlong_values",
    "sloppy_dates",
    "comma_amounts",
    "non_ascii_names",
    "malformed_xml",
    "wrong_root",
    "missing_id",
    "bom",
    "encoding_declaration",
)
"""Every tag that ``GeneratedDocument.edge_case`` can hold."""

FAILING_EDGE_CASES = frozenset({"malformed_xml", "wrong_root", "missing_id"})
"""Edge cases that a correct engine must reject; the others must map."""


@dataclass(frozen=True, slots=True)
class GeneratedDocument:
    """One synthetic document."""

    key: int
    """The record key; also the document's ``Request/@ID`` (unless the edge case removes it)."""
    xml: str
    """The document text (may start with a BOM character for the ``bom`` edge case)."""
    edge_case: str | None
    """Which of ``EDGE_CASES`` this document exercises, or None for an ordinary one."""
    encoding: str = "utf-8"
    """How the text must be encoded when written, so that its XML declaration stays true."""

    def to_bytes(self) -> bytes:
        return self.xml.encode(self.encoding)


def generate_documents(
    count: int,
    seed: int = 0,
    profile: str = "realistic",
    edge_share: float = 0.05,
    start_key: int = 1,
    product: str = "cc",
) -> Iterator[GeneratedDocument]:
    """Yield ``count`` documents of product line ``product`` with keys ``start_key, start_key + 1, …``.

    Raises ValueError for an unknown profile or product, a negative count,
    an ``edge_share`` outside [0, 1] or a ``start_key`` below 1.
    """
    if product not in PRODUCTS:
        raise ValueError(f"unknown product {product!r}; choose one of {', '.join(PRODUCTS)}")
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    if not 0.0 <= edge_share <= 1.0:
        raise ValueError(f"edge_share must be between 0 and 1, got {edge_share}")
    if start_key < 1:
        raise ValueError(f"start_key must be a positive integer, got {start_key}")
    with_reports = profile == "realistic"
    build = generate_document
    if product == "rl":
        from .recreational import generate_rl_document as build
    for key in range(start_key, start_key + count):
        yield build(key, seed, with_reports, edge_share)


def generate_document(key: int, seed: int, with_reports: bool, edge_share: float) -> GeneratedDocument:
    """Build document ``key`` of the corpus ``seed`` (independent of every other document)."""
    # A string seed is hashed with SHA-512 by random.Random, so it is stable
    # across processes and Python versions, unlike hash() of a tuple.
    rng = random.Random(f"xmlshred-corpus:{seed}:{key}")
    edge = rng.choice(EDGE_CASES) if rng.random() < edge_share else None
    doc = _DocumentModel(rng, key, edge, worked=with_reports)
    business = doc.render_business()
    reports = _render_reports(rng, key) if with_reports else ""
    xml = doc.render(business, reports)
    encoding = "windows-1252" if edge == "encoding_declaration" else "utf-8"
    return GeneratedDocument(key=key, xml=xml, edge_case=edge, encoding=encoding)


# --------------------------------------------------------------------------
# value pools (all made up)

_FIRST_NAMES = (
    "Avery", "Blake", "Casey", "Dana", "Elliot", "Frankie", "Gale", "Harper",
    "Indra", "Jordan", "Kendall", "Logan", "Morgan", "Noel", "Oakley", "Parker",
    "Quinn", "Reese", "Sawyer", "Taylor", "Umi", "Val", "Wren", "Yael", "Zephyr",
    "Rowan", "Sky", "Emery", "Finley", "Marlo", "Tatum", "Lennox", "Arden",
)
_LAST_NAMES = (
    "Ashgrove", "Brightwater", "Cobblestone", "Dunmore", "Elmsworth", "Fairhaven",
    "Glenbrook", "Hollowell", "Ironwood", "Junipero", "Kestrelton", "Larkspur",
    "Merriweather", "Northcott", "Oakhurst", "Pemberton", "Quarrington", "Rosedale",
    "Stonebridge", "Thornbury", "Underhill", "Vexley", "Whitlow", "Yarrowby",
    "Zellwood", "Amberlyn", "Birchfield", "Cranmore", "Dovecote", "Emberly",
)
_SUFFIXES = ("JR", "SR", "II", "III")
# Names that exist only in UTF-8 documents, and the subset that windows-1252 can encode.
_NON_ASCII_FIRST = ("José", "Zoë", "Ógdén", "Renée", "Chloë", "Björn", "Łucja", "Ŝtefan", "Aurélie", "Maëlle")
_NON_ASCII_LAST = ("Núñez", "Müller", "Søndergård", "Dvořák", "Ødegaard", "Carrière", "Lefèvre", "Ibáñez")
_CP1252_FIRST = ("José", "Zoë", "Ógdén", "Renée", "Chloë", "Björn", "Aurélie")
_CP1252_LAST = ("Núñez", "Müller", "Søndergård", "Ødegaard", "Carrière", "Ibáñez")

_CITIES = (
    ("Northwood", "UT"), ("Lakemont", "CO"), ("Riverton", "ID"), ("Pinecrest", "NV"),
    ("Fairmeadow", "AZ"), ("Oakvale", "TX"), ("Silverbrook", "OR"), ("Maple Hollow", "WA"),
    ("Cedar Bluff", "NM"), ("Brookhaven", "KS"), ("Willowdale", "NE"), ("Stonefield", "OK"),
    ("Harborview", "CA"), ("Eastmere", "MN"), ("Greyrock", "MT"), ("Sunnyvale Flats", "WY"),
)
_STREETS = (
    "Maple Ave", "Cedar St", "Elm Dr", "Aspen Way", "Juniper Ln", "Willow Ct",
    "Birch Rd", "Sycamore Blvd", "Hawthorn Pl", "Magnolia Cir", "Spruce Ter", "Alder Loop",
)
_EMPLOYERS = (
    "Acme Widgets", "Globex Logistics", "Initech Services", "Northwind Foods",
    "Contoso Health", "Fabrikam Builders", "Tailspin Air", "Wingtip Outfitters",
    "Lakeside Schools", "County Transit", "Bluebird Dental", "Smith & Sons Hardware",
    "Pinecrest Credit Union", "Riverton Auto Body", "Sunrise Senior Living",
)
_JOB_TITLES = (
    "Analyst", "Technician", "Nurse", "Teacher", "Driver", "Manager", "Cashier",
    "Engineer", "Electrician", "Accountant", "Chef", "Sales Associate", "Paralegal",
)
_EMAIL_DOMAINS = ("example.com", "example.org", "example.net")

_STATUSES = ("A", "A", "A", "P", "P", "D", "R", "W", "X")
_SOURCES = ("I", "I", "I", "B", "P", "M", "K")
_APP_TYPES = ("STD", "STD", "STD", "SECURE", "STUDENT", "BUSINESS")
_DECISIONS = ("APPRV", "APPRV", "DECLN", "PEND", "REFER", "")
_CAMPAIGNS = ("X1", "Y2", "Z9", "SPR25", "FALL24", "BTS25", "HOL24", "")
_SUB_CHANNELS = ("ONLINE", "MOBILE_APP", "BRANCH", "CALL_CENTER", "DIRECT_MAIL", "PARTNER", "")
_PRODUCTS = (
    ("CC_PLAT", "PLAT"), ("CC_GOLD", "GOLD"), ("CC_SIG", "SIG"), ("CC_SEC_STD", "SECURED"),
    ("CC_STUDENT", "STUDENT"), ("CC_CASHBK", "CASHBACK"), ("CC_TRAVEL", "TRAVEL"),
)
_REWARDS = ("POINTS", "CASHBACK", "MILES", "NONE", "")
_CITIZENSHIP = ("USC", "USC", "USC", "USC", "PRA", "NRA", "")
_MARITAL = ("M", "S", "S", "D", "W", "")
_EDUCATION = ("HS", "AA", "BA", "BS", "MS", "PHD", "NONE", "")
_HOUSING = ("OWN", "RENT", "RENT", "FAM", "OTH")
_RESIDENCE = ("OWN", "RENT", "LIVE", "MIL", "")
_INCOME_FREQ = ("W", "BW", "SM", "M", "M", "A")
_FUNDING = ("ACH", "CHECK", "WIRE", "DEBIT", "")
_BUREAUS = ("EXP", "EQF", "TRU")
_OTHER_ROLES = ("GUAR", "SEC", "COAPP", "JOINT")
_INVALID_ROLES = ("GUAR", "XX", "", "P R", "AUTH")
_QUEUES = ("AUTO", "UW_STANDARD", "UW_SENIOR", "FRAUD_REVIEW", "DOC_VERIFY")
_REVIEW_REASONS = ("INCOME", "ID_MISMATCH", "THIN_FILE", "HIGH_EXPOSURE", "")
_NOTE_PHRASES = (
    "Applicant called to confirm receipt of application.",
    "Income documentation requested via secure message.",
    "Address verified against utility statement on file.",
    "Underwriter reviewed exposure across existing accounts.",
    "Identity verification passed with knowledge-based questions.",
    "Customer asked about balance transfer promotional terms.",
    "Card delivery preference updated to expedited shipping.",
    "Requested line adjusted per policy for thin-file applicants.",
    "Employment verified by phone with the employer's HR line.",
    "Fraud alert reviewed and cleared after callback to applicant.",
)


# --------------------------------------------------------------------------
# formatting helpers

def _esc(value: str) -> str:
    # Attribute values only: quotes are always double, so ' needs no escape.
    if "&" in value:
        value = value.replace("&", "&amp;")
    if "<" in value:
        value = value.replace("<", "&lt;")
    if ">" in value:
        value = value.replace(">", "&gt;")
    if '"' in value:
        value = value.replace('"', "&quot;")
    return value


def _open_tag(name: str, attrs: dict, indent: str) -> str:
    """The start tag without its closing ``>``."""
    # None means "attribute absent", "" means "attribute present but empty":
    # the contract treats both as empty, real documents have both.
    parts = [f'{k}="{_esc(v)}"' for k, v in attrs.items() if v is not None]
    return f"{indent}<{name} {' '.join(parts)}" if parts else f"{indent}<{name}"


def _element(name: str, attrs: dict, indent: str, children: list[str] | None = None) -> str:
    head = _open_tag(name, attrs, indent)
    if not children:
        return head + "/>"
    return head + ">\n" + "\n".join(children) + f"\n{indent}</{name}>"


_EPOCH = datetime(2023, 1, 1)


def _provenir_datetime(moment: datetime) -> str:
    # The source system writes a one-digit fraction, e.g. 2025-10-14 20:09:54.0
    return moment.strftime("%Y-%m-%d %H:%M:%S") + f".{moment.microsecond // 100000}"


def _sloppy_datetime(rng: random.Random, moment: datetime) -> str:
    style = rng.randrange(4)
    if style == 0:
        return f"{moment.year}-{moment.month}-{moment.day} {moment.hour}:{moment.minute}:{moment.second}.0"
    if style == 1:
        return f"{moment.month:02d}/{moment.day:02d}/{moment.year}"
    if style == 2:
        return moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{moment.month:02d}/{moment.day:02d}/{moment.year} {moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"


def _sloppy_date(rng: random.Random, day: date) -> str:
    if rng.random() < 0.5:
        return f"{day.month:02d}/{day.day:02d}/{day.year}"
    return f"{day.year}-{day.month}-{day.day}"


def _maybe(rng: random.Random, value: str, present: float = 0.92) -> str | None:
    """The value, or (rarely) an empty or absent attribute, as real feeds have them."""
    roll = rng.random()
    if roll < present:
        return value
    return "" if roll < present + (1 - present) / 2 else None


def _with_comma(amount: int) -> str:
    return f"{amount:,}"


# --------------------------------------------------------------------------
# the business part

class _Envelope:
    """What every generated document shares, whatever its product: the Provenir
    envelope around the business part and the envelope's edge cases. A product's
    document has ``rng``, ``edge`` and ``request`` and says how its markup breaks."""

    def break_markup(self, business: str) -> str:
        return _break_markup(self.rng, business)

    def render(self, business: str, reports: str) -> str:
        root = "Provenir"
        declaration = '<?xml version="1.0" encoding="UTF-8"?>\n' if self.rng.random() < 0.9 else ""
        prefix = ""
        if self.edge == "wrong_root":
            root = self.rng.choice(("IL_Root", "ProvenirResponse", "Envelope"))
        elif self.edge == "encoding_declaration":
            declaration = '<?xml version="1.0" encoding="windows-1252"?>\n'
        elif self.edge == "bom":
            prefix = "\ufeff"
            declaration = '<?xml version="1.0" encoding="UTF-8"?>\n'
        elif self.edge == "malformed_xml":
            business = self.break_markup(business)
        request = _open_tag("Request", self.request, "  ")
        return (
            f"{prefix}{declaration}<{root}>\n{request}>\n    <CustData>\n{business}\n    </CustData>\n  </Request>\n"
            f"{reports}</{root}>\n"
        )


class _DocumentModel(_Envelope):
    """Attribute dictionaries of one document, built first so edge cases can edit them."""

    def __init__(self, rng: random.Random, key: int, edge: str | None, worked: bool) -> None:
        self.rng = rng
        self.worked = worked
        self.key = key
        self.edge = edge
        self.received = _EPOCH + timedelta(seconds=rng.randrange(3 * 365 * 86400), microseconds=rng.randrange(10) * 100000)
        self.request = self._request()
        self.application = self._application()
        self.product = self._product()
        self.contacts = self._contacts()
        self.rmts = self._rmts()
        self.indicators = self._indicators()
        self.scores = self._scores()
        self.credit_summary = self._credit_summary()
        self.fraud_summary = self._fraud_summary()
        self.notes = self._notes()
        if edge is not None:
            _EDGE_EDITS.get(edge, _no_edit)(self)

    # -- elements ----------------------------------------------------------

    def _request(self) -> dict:
        rng = self.rng
        return {
            "ID": str(self.key),
            "Status": rng.choice(_STATUSES),
            "ProcessingTime": f"{rng.uniform(0.05, 9.5):.3f}",
            "Version": rng.choice(("3.2", "3.2", "3.3", "4.0")),
            "Source": rng.choice(("web", "WEB", "branch", "phone", "mail", "api")),
            "CreatedBy": rng.choice(("svc_web01", "svc_web02", "svc_batch", "svc_branch", "")),
            "RequestType": rng.choice(("NEW", "NEW", "NEW", "REPROCESS", "RESUBMIT")),
            "TimeStamp": _provenir_datetime(self.received + timedelta(seconds=rng.randrange(1, 90))),
        }

    def _application(self) -> dict:
        rng = self.rng
        received = self.received
        solicited = rng.random() < 0.4
        mail_day = (received - timedelta(days=rng.randrange(5, 80))).date()
        entry = received + timedelta(minutes=rng.randrange(1, 600))
        attrs = {
            "app_receive_date": _provenir_datetime(received),
            "app_entry_date": _maybe(rng, _provenir_datetime(entry), 0.75),
            "signature_ind": rng.choice(("Y", "Y", "Y", "N", "", "y")),
            "paperless_flag": rng.choice(("true", "false", "yes", "no", "1", "0", "TRUE", "")),
            "pricing_tier": _maybe(rng, str(rng.randrange(1, 100)), 0.9),
            "campaign": rng.choice(_CAMPAIGNS),
            "app_source_ind": rng.choice(_SOURCES),
            "app_type_code": rng.choice(_APP_TYPES),
            "decision_tp_c": rng.choice(_DECISIONS),
            "application_num": f"APP-{received.year}-{self.key:09d}",
            "sub_channel": rng.choice(_SUB_CHANNELS),
            "language_cd": rng.choice(("EN", "EN", "EN", "ES", "en", "FR", "")),
            "region_cd": str(rng.randrange(1, 13)),
            "branch_num": str(rng.randrange(1, 999)),
            "priority": str(rng.randrange(1, 6)),
            "ip_address": f"192.0.2.{rng.randrange(1, 255)}" if rng.random() < 0.7 else f"2001:db8::{rng.randrange(1, 65535):x}",
            "device_id": f"dev-{rng.getrandbits(48):012x}",
            "is_test": rng.choice(("false", "false", "false", "false", "true", "")),
            "annual_income_stated": str(rng.randrange(18, 260) * 1000),
            "assigned_to": rng.choice(("uw0142", "uw0177", "uw0203", "auto", "")),
            "queue_name": rng.choice(_QUEUES),
            "review_reason": rng.choice(_REVIEW_REASONS),
            "auto_decision_ind": rng.choice(("Y", "N", "Y", "")),
            "manual_review": rng.choice(("false", "true", "no", "")),
            "prior_app_id": _maybe(rng, str(rng.randrange(100000, 999999)), 0.25),
            "prior_decision": rng.choice(("APPRV", "DECLN", "null", "none", "", None, None)),
            "legacy_source": rng.choice(("MAINFRAME", "LOS_V1", None, None, None)),
            "offer_id": f"OFR{rng.randrange(10000, 99999)}" if solicited else None,
            "prescreen_id": f"PS-{rng.randrange(10**9, 10**10)}" if solicited else None,
            "mail_date": mail_day.isoformat() if solicited else None,
            "response_cd": rng.choice(("R1", "R2", "WEB", "")) if solicited else None,
            "offer_channel": rng.choice(("MAIL", "EMAIL", "")) if solicited else None,
            "solicitation_ind": "Y" if solicited else rng.choice(("N", "")),
        }
        if solicited and rng.random() < 0.1:
            attrs["offer_id"] = f"PRT{rng.randrange(1000, 9999)}"
        return attrs

    def _product(self) -> dict:
        rng = self.rng
        code, _ = rng.choice(_PRODUCTS)
        requested = rng.randrange(5, 200) * 100
        line = max(300, requested + rng.randrange(-40, 40) * 100)
        promo = rng.choice((0, 0, 6, 12, 15, 18, 21))
        fee = rng.choice((0, 0, 0, 39, 95, 99, 150, 450))
        decided = self.received + timedelta(hours=rng.randrange(0, 96))
        return {
            "product_code": code,
            "product_tp_c": code[3:] if rng.random() < 0.95 else "LEGACY",
            "credit_line": _with_comma(line) if rng.random() < 0.15 else str(line),
            "requested_line": _maybe(rng, str(requested), 0.85),
            "apr": f"{rng.uniform(9.99, 29.99):.2f}",
            "promo_apr": f"{rng.choice((0, 0, 1.99, 3.99, 4.99)):.2f}" if promo else None,
            "promo_months": str(promo) if promo else _maybe(rng, "0", 0.5),
            "late_fee": rng.choice(("Up to $40", "Up to $41.00", "$29", "30.00", "None", "")),
            "annual_fee": f"${fee}" if rng.random() < 0.6 else f"{fee}.00",
            "annual_fee_amt": f"{fee}.00",
            "cash_adv_fee": rng.choice(("5% or $10", "$10 or 5%", "3%", "")),
            "min_payment_pct": rng.choice(("1", "2", "2.5", "3", "")),
            "cashback_rate": rng.choice(("1.5", "2", "0.5", "", "3.25")),
            "rewards_tp_c": rng.choice(_REWARDS),
            "balance_transfer_ind": rng.choice(("Y", "N", "N", "", "T")),
            "risk_grade": rng.choice(("a", "B", "C", "d", "E", "")),
            "decision_date": decided.date().isoformat() if rng.random() < 0.8 else _provenir_datetime(decided),
            "review_count": str(rng.randrange(0, 8)),
            "card_art_cd": rng.choice(("ART01", "ART02", "ART07", "BLUE", "")),
            "pricing_strategy": rng.choice(("RISK_BASED_V3", "CHAMPION", "CHALLENGER_A", "CHALLENGER_B")),
            "fico_score": _maybe(rng, str(rng.randrange(520, 850)), 0.9),
            "legacy_code": rng.choice(("LC7", "LC2", "null", "", None, None)),
            "old_flag": rng.choice(("Y", "N", "none", None, None, None)),
        }

    def _contacts(self) -> list[dict]:
        rng = self.rng
        roll = rng.random()
        count = 1 if roll < 0.55 else 2 if roll < 0.9 else 3
        contacts = []
        for index in range(count):
            if index == 0:
                role = "PR"
            elif rng.random() < 0.06:
                role = rng.choice(_OTHER_ROLES)
            else:
                role = "AUTHU" if rng.random() < 0.97 else "authu"
            contacts.append(self._contact(self.key * 10 + index + 1, role))
        return contacts

    def _contact(self, con_id: int, role: str) -> dict:
        rng = self.rng
        first = rng.choice(_FIRST_NAMES)
        last = rng.choice(_LAST_NAMES)
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 65))
        ssn = f"666-{rng.randrange(10, 100)}-{rng.randrange(1000, 10000)}"
        if rng.random() < 0.2:
            ssn = ssn.replace("-", "")
        attrs = {
            "con_id": str(con_id),
            "ac_role_tp_c": role,
            "first_name": first,
            "middle_name": _maybe(rng, rng.choice(_FIRST_NAMES), 0.4),
            "last_name": last,
            "suffix": rng.choice(_SUFFIXES) if rng.random() < 0.05 else None,
            "ssn": ssn,
            "birth_date": born.isoformat(),
            "email": f"{first}.{last}{rng.randrange(1, 99)}@{rng.choice(_EMAIL_DOMAINS)}" if rng.random() < 0.9 else "",
            "citizenship_tp_c": rng.choice(_CITIZENSHIP),
            "marital_status": rng.choice(_MARITAL),
            "dependents_cnt": str(rng.randrange(0, 6)),
            "education_tp_c": rng.choice(_EDUCATION),
            "military_ind": rng.choice(("N", "N", "N", "Y", "")),
            "employee_ind": rng.choice(("false", "false", "true", "no", "")),
            "id_type": rng.choice(("DL", "DL", "ST", "PP")),
            "id_number": f"D{rng.randrange(10**7, 10**8)}",
            "id_state": rng.choice(_CITIES)[1],
            "id_expire_date": (self.received.date() + timedelta(days=rng.randrange(30, 2900))).isoformat(),
            "annual_income": str(rng.randrange(12, 300) * 1000) if rng.random() < 0.85 else "",
            "other_income": rng.choice(("", "", "$250/mo", "1200", "Up to $500", "0")),
            "housing_status": rng.choice(_HOUSING),
            "preferred_contact": rng.choice(("EMAIL", "PHONE", "MAIL", "SMS", "")),
            "consent_date": _maybe(rng, _provenir_datetime(self.received), 0.6),
        }
        addresses = []
        if rng.random() < 0.95:
            addresses.append(self._address("CURR"))
        if rng.random() < 0.4:
            addresses.append(self._address("PREV"))
        if rng.random() < 0.05:
            addresses.append(self._address("MAIL"))
        employments = []
        if rng.random() < 0.85:
            employments.append(self._employment("CURR"))
        if rng.random() < 0.35:
            employments.append(self._employment("PREV"))
        return {"attrs": attrs, "addresses": addresses, "employments": employments}

    def _address(self, kind: str) -> dict:
        rng = self.rng
        city, state = rng.choice(_CITIES)
        return {
            "address_tp_c": kind if rng.random() < 0.97 else kind.lower(),
            "street_num": str(rng.randrange(1, 20000)),
            "street_name": rng.choice(_STREETS),
            "unit": rng.choice(("", "", "", "Apt 4", "Unit 12B", "#301")),
            "city": city,
            "state": state if rng.random() < 0.9 else state.lower(),
            "zip": f"{rng.randrange(10000, 99999)}" + (f"-{rng.randrange(1000, 9999)}" if rng.random() < 0.3 else ""),
            "country_cd": rng.choice(("USA", "USA", "US", "")),
            "residence_tp_c": rng.choice(_RESIDENCE),
            "residence_monthly_pymnt": f"{rng.randrange(0, 4000)}.{rng.randrange(100):02d}" if rng.random() < 0.8 else "",
            "months_at_residence": str(rng.randrange(0, 12)),
            "years_at_residence": _maybe(rng, str(rng.randrange(0, 30)), 0.85),
            "cell_phone": f"({rng.randrange(200, 999)}) 555-01{rng.randrange(100):02d}",
            "home_phone": _maybe(rng, f"{rng.randrange(200, 999)}-555-01{rng.randrange(100):02d}", 0.5),
            "verified_ind": rng.choice(("Y", "N", "")),
        }

    def _employment(self, kind: str) -> dict:
        rng = self.rng
        city, state = rng.choice(_CITIES)
        frequency = rng.choice(_INCOME_FREQ)
        per_period = {"W": 52, "BW": 26, "SM": 24, "M": 12, "A": 1}[frequency]
        yearly = rng.randrange(15, 250) * 1000
        tenure_days = rng.randrange(30, 9000)
        started = self.received.date() - timedelta(days=tenure_days)
        return {
            "employment_tp_c": kind,
            "employer_name": rng.choice(_EMPLOYERS),
            "job_title": rng.choice(_JOB_TITLES),
            "occupation_cd": rng.choice(("11-1021", "29-1141", "25-2021", "53-3032", "")),
            "employer_phone": _maybe(rng, f"{rng.randrange(200, 999)}.555.01{rng.randrange(100):02d}", 0.7),
            "income_amt": f"{yearly / per_period:.2f}",
            "income_frequency": frequency,
            "months_at_job": str(tenure_days % 365 // 31),
            "years_at_job": _maybe(rng, str(tenure_days // 365), 0.85),
            "self_employed_ind": rng.choice(("N", "N", "N", "Y")),
            "employer_city": city,
            "employer_state": state,
            "start_date": started.isoformat(),
            "income_verified": rng.choice(("true", "false", "")),
        }

    def _rmts(self) -> dict:
        rng = self.rng
        booked = self.received + timedelta(days=rng.randrange(1, 10), seconds=rng.randrange(86400))
        txn = booked + timedelta(days=rng.randrange(1, 40))
        has_txn = rng.random() < 0.7
        return {
            "account_num": f"ACCT-{rng.randrange(10**9, 10**10)}",
            "transaction_id": str(rng.randrange(10**11, 10**13)),
            "booked_date": _provenir_datetime(booked),
            "first_txn_date": txn.date().isoformat() if has_txn else "",
            "first_txn_amount": f"{rng.uniform(1, 900):.2f}" if has_txn else rng.choice(("", "0.00")),
            "funding_method": rng.choice(_FUNDING),
            "card_mailed_date": (booked + timedelta(days=rng.randrange(1, 5))).date().isoformat(),
            "embossed_name": f"{self.contacts[0]['attrs']['first_name']} {self.contacts[0]['attrs']['last_name']}",
            "activation_ind": rng.choice(("true", "false", "")),
            "statement_cycle": str(rng.randrange(1, 29)),
            "bureau_pulled": rng.choice(_BUREAUS),
            "rmts_status": rng.choice(("BOOKED", "PENDING", "CLOSED", "")),
            "auth_hold_amt": rng.choice(("", "1.00", "0.00", "25.5")),
            "legacy_acct": rng.choice(("L-00017", "null", None, None)),
        }

    def _indicators(self) -> dict:
        rng = self.rng
        names = (
            "fraud_alert", "ofac_hit", "id_verified", "mla_covered", "bankruptcy_flag",
            "deceased_flag", "frozen_file", "address_mismatch", "thin_file", "ssn_mismatch",
            "income_verified",
        )
        truthy = ("Y", "yes", "true", "1", "T", "TRUE")
        falsy = ("N", "no", "false", "0", "")
        return {
            name: rng.choice(truthy) if rng.random() < 0.15 else rng.choice(falsy)
            for name in names
        }

    def _scores(self) -> dict:
        rng = self.rng
        return {
            "fico_08": _maybe(rng, str(rng.randrange(480, 851)), 0.9),
            "vantage_40": _maybe(rng, str(rng.randrange(480, 851)), 0.7),
            "bk_score": _maybe(rng, str(rng.randrange(1, 1000)), 0.6),
            "fraud_score": _maybe(rng, str(rng.randrange(1, 1000)), 0.8),
            "income_model": _maybe(rng, str(rng.randrange(15, 300) * 1000), 0.5),
            "custom_risk": _maybe(rng, str(rng.randrange(0, 1000)), 0.8),
            "attrition_score": _maybe(rng, str(rng.randrange(0, 100)), 0.3),
        }

    def _credit_summary(self) -> dict:
        rng = self.rng
        return {
            "bureau": rng.choice(_BUREAUS),
            "inquiries_6m": str(rng.randrange(0, 9)),
            "tradelines": str(rng.randrange(0, 40)),
            "delinquencies_24m": str(rng.randrange(0, 4)),
            "oldest_trade_months": str(rng.randrange(0, 400)),
            "total_revolving_balance": str(rng.randrange(0, 60000)),
            "utilization_pct": str(rng.randrange(0, 101)),
        }

    def _fraud_summary(self) -> dict:
        rng = self.rng
        return {
            "vendor": rng.choice(("IDV_ALPHA", "IDV_BETA")),
            "decision": rng.choice(("PASS", "PASS", "PASS", "REVIEW", "FAIL")),
            "reason_codes": ",".join(rng.sample(("R01", "R07", "R12", "R19", "R22", "R30"), rng.randrange(0, 4))),
            "device_risk": rng.choice(("LOW", "LOW", "MEDIUM", "HIGH")),
            "email_age_days": str(rng.randrange(0, 5000)),
        }

    def _notes(self) -> list[str]:
        rng = self.rng
        # Production-like documents carry a handful to a few dozen notes; the
        # long tail of heavily worked ones is what pushes the business part
        # toward ~35 KB. The small profile keeps only a few.
        roll = rng.random()
        if not self.worked:
            count = rng.randrange(1, 7)
        elif roll < 0.55:
            count = rng.randrange(4, 14)
        elif roll < 0.97:
            count = rng.randrange(12, 36)
        else:
            count = rng.randrange(60, 110)
        moment = self.received
        notes = []
        for seq in range(1, count + 1):
            moment += timedelta(minutes=rng.randrange(5, 3000))
            text = " ".join(rng.choice(_NOTE_PHRASES) for _ in range(rng.randrange(1, 4)))
            notes.append(
                f'        <app_note seq="{seq}" author="{rng.choice(("uw0142", "uw0177", "csr031", "system"))}"'
                f' created="{_provenir_datetime(moment)}" category="{rng.choice(("CALL", "DOC", "UW", "FRAUD"))}">'
                f"{_esc(text)}</app_note>"
            )
        return notes

    # -- rendering ---------------------------------------------------------

    def render_business(self) -> str:
        """The <application> element with everything the contract reads."""
        indent = "      "
        children = [_element("app_product", self.product, indent + "  ")]
        for contact in self.contacts:
            inner = indent + "    "
            grand = [_element("contact_address", a, inner) for a in contact["addresses"]]
            grand += [_element("contact_employment", e, inner) for e in contact["employments"]]
            children.append(_element("contact", contact["attrs"], indent + "  ", grand))
        children.append(_element("rmts_info", self.rmts, indent + "  "))
        children.append(_element("Indicators", self.indicators, indent + "  "))
        children.append(_element("scores", self.scores, indent + "  "))
        children.append(_element("credit_report_summary", self.credit_summary, indent + "  "))
        children.append(_element("fraud_check_summary", self.fraud_summary, indent + "  "))
        children.append(f"{indent}  <app_notes>\n" + "\n".join("  " + n for n in self.notes) + f"\n{indent}  </app_notes>")
        return _element("application", self.application, indent, children)


# --------------------------------------------------------------------------
# edge cases: each edits the model of an otherwise ordinary document

def _no_edit(doc: _DocumentModel) -> None:
    return None


def _blank_contact_fields(doc: _DocumentModel) -> None:
    fields = ("first_name", "last_name", "ssn", "birth_date", "email", "middle_name", "annual_income", "id_number")
    for contact in doc.contacts:
        for name in doc.rng.sample(fields, doc.rng.randrange(3, len(fields) + 1)):
            contact["attrs"][name] = doc.rng.choice(("", "   "))


def _duplicate_con_id(doc: _DocumentModel) -> None:
    first = doc.contacts[0]["attrs"]
    twin = doc._contact(int(first["con_id"]), doc.rng.choice(("AUTHU", "PR", "authu")))
    # Before or after the original: the dedupe tie-break depends on document order.
    doc.contacts.insert(doc.rng.randrange(0, len(doc.contacts) + 1), twin)


def _invalid_role(doc: _DocumentModel) -> None:
    victim = doc.rng.choice(doc.contacts)
    victim["attrs"]["ac_role_tp_c"] = doc.rng.choice(_INVALID_ROLES)
    if doc.rng.random() < 0.3:
        victim["attrs"]["con_id"] = ""


def _overlong_values(doc: _DocumentModel) -> None:
    rng = doc.rng
    filler = "Overlong value from an upstream free-text field " * rng.randrange(6, 14)
    contact = doc.contacts[0]
    contact["attrs"]["first_name"] = "Maximiliana-" + filler
    contact["attrs"]["email"] = filler.replace(" ", ".").lower() + "@example.com"
    for address in contact["addresses"]:
        address["street_name"] = filler
        address["city"] = "City of " + filler
    for job in contact["employments"]:
        job["employer_name"] = filler
    doc.application["sub_channel"] = filler
    doc.product["pricing_strategy"] = filler


def _sloppy_dates(doc: _DocumentModel) -> None:
    rng = doc.rng
    doc.application["app_receive_date"] = _sloppy_datetime(rng, doc.received)
    doc.rmts["booked_date"] = _sloppy_datetime(rng, doc.received + timedelta(days=2, hours=3, minutes=7))
    doc.product["decision_date"] = _sloppy_date(rng, doc.received.date())
    for contact in doc.contacts:
        born = date.fromisoformat(contact["attrs"]["birth_date"])
        contact["attrs"]["birth_date"] = _sloppy_date(rng, born)


def _comma_amounts(doc: _DocumentModel) -> None:
    rng = doc.rng
    line = rng.randrange(10, 60) * 100
    doc.product["credit_line"] = _with_comma(line)
    doc.product["requested_line"] = _with_comma(line + 500)
    doc.application["annual_income_stated"] = _with_comma(rng.randrange(20, 400) * 1000)
    for contact in doc.contacts:
        if contact["attrs"]["annual_income"]:
            contact["attrs"]["annual_income"] = _with_comma(int(contact["attrs"]["annual_income"]))


def _non_ascii_names(doc: _DocumentModel, first_pool=_NON_ASCII_FIRST, last_pool=_NON_ASCII_LAST) -> None:
    rng = doc.rng
    for contact in doc.contacts:
        contact["attrs"]["first_name"] = rng.choice(first_pool)
        contact["attrs"]["last_name"] = rng.choice(last_pool)
    doc.rmts["embossed_name"] = f"{doc.contacts[0]['attrs']['first_name']} {doc.contacts[0]['attrs']['last_name']}"
    if doc.contacts[0]["addresses"]:
        doc.contacts[0]["addresses"][0]["city"] = rng.choice(("Ógdén", "Montréal-Nord", "São Bento"))


def _encoding_declaration(doc: _DocumentModel) -> None:
    # Only characters that windows-1252 can encode, so the declaration is true.
    _non_ascii_names(doc, _CP1252_FIRST, _CP1252_LAST)


def _missing_id(doc: _DocumentModel) -> None:
    if doc.rng.random() < 0.5:
        del doc.request["ID"]
    else:
        doc.request["ID"] = ""


_EDGE_EDITS = {
    "blank_contact_fields": _blank_contact_fields,
    "duplicate_con_id": _duplicate_con_id,
    "invalid_role": _invalid_role,
    "overlong_values": _overlong_values,
    "sloppy_dates": _sloppy_dates,
    "comma_amounts": _comma_amounts,
    "non_ascii_names": _non_ascii_names,
    "encoding_declaration": _encoding_declaration,
    "missing_id": _missing_id,
}


def _break_markup(rng: random.Random, business: str, application: str = "application",
                  attribute: str = "campaign", element: str = "rmts_info") -> str:
    """Break well-formedness inside the business part, where every parser must notice: a
    misspelt end tag of ``application``, an unescaped ampersand in ``attribute`` (as
    hand-built XML strings produce), or a stray ``<`` in the start tag of ``element``."""
    style = rng.randrange(3)
    if style == 0:
        return business.replace(f"</{application}>", f"</{application.replace('pp', 'p')}>", 1)
    if style == 1:
        return business.replace(f' {attribute}="', f' {attribute}="A & B ', 1)
    return business.replace(f"<{element} ", f"<{element} <", 1)


# --------------------------------------------------------------------------
# the Reports section: bulk that no mapping reads

_REPORT_CHUNKS: tuple[str, ...] | None = None
_LARGE_SHARE = 0.005


def _report_chunks() -> tuple[str, ...]:
    """Pre-built blocks of bureau and fraud-check markup (built once, from a fixed seed)."""
    global _REPORT_CHUNKS
    if _REPORT_CHUNKS is None:
        rng = random.Random("xmlshred-report-chunks")
        _REPORT_CHUNKS = tuple(_build_chunk(rng, n) for n in range(96))
    return _REPORT_CHUNKS


def _build_chunk(rng: random.Random, n: int) -> str:
    kind = n % 4
    lines = []
    if kind in (0, 1):
        for seq in range(rng.randrange(8, 20)):
            lines.append(
                f'        <Tradeline seq="{seq}" creditor="{_esc(rng.choice(_EMPLOYERS).upper())}" type="{rng.choice(("REV", "INS", "MTG", "OPN"))}"'
                f' opened="{2000 + rng.randrange(25)}-{rng.randrange(1, 13):02d}" balance="{rng.randrange(0, 90000)}"'
                f' limit="{rng.randrange(0, 50000)}" status="{rng.choice(("CURR", "30", "60", "CO", "PAID"))}"'
                f' history="{"".join(rng.choice("CCCCCC12X-") for _ in range(48))}">'
                f'<Remark code="{rng.choice(("AC", "CLO", "DRP", "ACR"))}">{rng.choice(_NOTE_PHRASES)}</Remark></Tradeline>'
            )
        return '      <BureauSegment name="TRADELINES">\n' + "\n".join(lines) + "\n      </BureauSegment>\n"
    if kind == 2:
        for seq in range(rng.randrange(4, 12)):
            lines.append(
                f'        <Inquiry seq="{seq}" date="2024-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"'
                f' subscriber="{rng.randrange(10**6, 10**7)}" industry="{rng.choice(("BC", "FM", "AU", "ZZ"))}"/>'
            )
        attributes = " ".join(f'attr_{i:03d}="{rng.randrange(0, 9999)}"' for i in range(rng.randrange(40, 90)))
        return (
            '      <BureauSegment name="INQUIRIES">\n' + "\n".join(lines)
            + f"\n        <ModelAttributes {attributes}/>\n      </BureauSegment>\n"
        )
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    payload = "".join(rng.choice(alphabet) for _ in range(rng.randrange(2500, 6000)))
    wrapped = "\n".join(payload[i:i + 76] for i in range(0, len(payload), 76))
    return (
        f'      <FraudCheck vendor="{rng.choice(("IDV_ALPHA", "IDV_BETA", "DEVICE_GAMMA"))}" version="{rng.randrange(1, 9)}.{rng.randrange(10)}">\n'
        f"        <RawResponse encoding=\"base64\">\n{wrapped}\n        </RawResponse>\n      </FraudCheck>\n"
    )


def _render_reports(rng: random.Random, key: int) -> str:
    if rng.random() < _LARGE_SHARE:
        target = rng.randrange(1_600_000, 2_100_000)
    else:
        # Triangular with a mean of ~225 KB: with the rare 2 MB documents and
        # the ~8 KB business part, documents average ~250 KB.
        target = int(rng.triangular(30_000, 500_000, 140_000))
    return render_reports_of_size(rng, key, target)


def render_reports_of_size(rng: random.Random, key: int, target: int) -> str:
    """A ``Reports`` section of bureau reports whose chunks add up to at least ``target`` characters."""
    chunks = _report_chunks()
    parts = [f'  <Reports requestId="{key}">\n']
    size = 0
    report = 0
    while True:
        report += 1
        parts.append(
            f'    <Report id="{key}-{report}" bureau="{rng.choice(_BUREAUS)}"'
            f' pulled="2025-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"'
            f' transactionId="{rng.getrandbits(40):x}">\n'
        )
        for _ in range(rng.randrange(2, 14)):
            chunk = chunks[rng.randrange(len(chunks))]
            parts.append(chunk)
            size += len(chunk)
        parts.append("    </Report>\n")
        if size >= target:
            break
    parts.append("  </Reports>\n")
    return "".join(parts)
