"""What the two product lines' generators share: pools, builders, the envelope, the reports.

``corpus`` (credit card) and ``recreational`` (recreational lending) both build
their documents from this module and import nothing from each other. Here are
the ``GeneratedDocument`` value and the edge-case tags, the made-up value pools
both products draw from (names, places, employers, note phrases), the markup
and value builders (``xml_element``, ``maybe``, ``provenir_datetime``, …), the
Provenir ``Envelope`` around a business part with its envelope edge cases, the
edge edits that do the same to either product's model, and the bulky
``Reports`` section that no mapping reads. Everything is invented: see
``corpus`` for the rules the pools follow.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime

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


# --------------------------------------------------------------------------
# value pools (all made up)

FIRST_NAMES = (
    "Avery", "Blake", "Casey", "Dana", "Elliot", "Frankie", "Gale", "Harper",
    "Indra", "Jordan", "Kendall", "Logan", "Morgan", "Noel", "Oakley", "Parker",
    "Quinn", "Reese", "Sawyer", "Taylor", "Umi", "Val", "Wren", "Yael", "Zephyr",
    "Rowan", "Sky", "Emery", "Finley", "Marlo", "Tatum", "Lennox", "Arden",
)
LAST_NAMES = (
    "Ashgrove", "Brightwater", "Cobblestone", "Dunmore", "Elmsworth", "Fairhaven",
    "Glenbrook", "Hollowell", "Ironwood", "Junipero", "Kestrelton", "Larkspur",
    "Merriweather", "Northcott", "Oakhurst", "Pemberton", "Quarrington", "Rosedale",
    "Stonebridge", "Thornbury", "Underhill", "Vexley", "Whitlow", "Yarrowby",
    "Zellwood", "Amberlyn", "Birchfield", "Cranmore", "Dovecote", "Emberly",
)
SUFFIXES = ("JR", "SR", "II", "III")
# Names that exist only in UTF-8 documents, and the subset that windows-1252 can encode.
NON_ASCII_FIRST = ("José", "Zoë", "Ógdén", "Renée", "Chloë", "Björn", "Łucja", "Ŝtefan", "Aurélie", "Maëlle")
NON_ASCII_LAST = ("Núñez", "Müller", "Søndergård", "Dvořák", "Ødegaard", "Carrière", "Lefèvre", "Ibáñez")
CP1252_FIRST = ("José", "Zoë", "Ógdén", "Renée", "Chloë", "Björn", "Aurélie")
CP1252_LAST = ("Núñez", "Müller", "Søndergård", "Ødegaard", "Carrière", "Ibáñez")
CITIES = (
    ("Northwood", "UT"), ("Lakemont", "CO"), ("Riverton", "ID"), ("Pinecrest", "NV"),
    ("Fairmeadow", "AZ"), ("Oakvale", "TX"), ("Silverbrook", "OR"), ("Maple Hollow", "WA"),
    ("Cedar Bluff", "NM"), ("Brookhaven", "KS"), ("Willowdale", "NE"), ("Stonefield", "OK"),
    ("Harborview", "CA"), ("Eastmere", "MN"), ("Greyrock", "MT"), ("Sunnyvale Flats", "WY"),
)
STREETS = (
    "Maple Ave", "Cedar St", "Elm Dr", "Aspen Way", "Juniper Ln", "Willow Ct",
    "Birch Rd", "Sycamore Blvd", "Hawthorn Pl", "Magnolia Cir", "Spruce Ter", "Alder Loop",
)
EMPLOYERS = (
    "Acme Widgets", "Globex Logistics", "Initech Services", "Northwind Foods",
    "Contoso Health", "Fabrikam Builders", "Tailspin Air", "Wingtip Outfitters",
    "Lakeside Schools", "County Transit", "Bluebird Dental", "Smith & Sons Hardware",
    "Pinecrest Credit Union", "Riverton Auto Body", "Sunrise Senior Living",
)
JOB_TITLES = (
    "Analyst", "Technician", "Nurse", "Teacher", "Driver", "Manager", "Cashier",
    "Engineer", "Electrician", "Accountant", "Chef", "Sales Associate", "Paralegal",
)
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
MARITAL = ("M", "S", "S", "D", "W", "")
RESIDENCE = ("OWN", "RENT", "LIVE", "MIL", "")
INCOME_FREQ = ("W", "BW", "SM", "M", "M", "A")
BUREAUS = ("EXP", "EQF", "TRU")
NOTE_PHRASES = (
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

def escape(value: str) -> str:
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


def open_tag(name: str, attrs: dict, indent: str) -> str:
    """The start tag without its closing ``>``."""
    # None means "attribute absent", "" means "attribute present but empty":
    # the contract treats both as empty, real documents have both.
    parts = [f'{k}="{escape(v)}"' for k, v in attrs.items() if v is not None]
    return f"{indent}<{name} {' '.join(parts)}" if parts else f"{indent}<{name}"


def xml_element(name: str, attrs: dict, indent: str, children: list[str] | None = None) -> str:
    head = open_tag(name, attrs, indent)
    if not children:
        return head + "/>"
    return head + ">\n" + "\n".join(children) + f"\n{indent}</{name}>"
EPOCH = datetime(2023, 1, 1)


def provenir_datetime(moment: datetime) -> str:
    # The source system writes a one-digit fraction, e.g. 2025-10-14 20:09:54.0
    return moment.strftime("%Y-%m-%d %H:%M:%S") + f".{moment.microsecond // 100000}"


def sloppy_datetime(rng: random.Random, moment: datetime) -> str:
    style = rng.randrange(4)
    if style == 0:
        return f"{moment.year}-{moment.month}-{moment.day} {moment.hour}:{moment.minute}:{moment.second}.0"
    if style == 1:
        return f"{moment.month:02d}/{moment.day:02d}/{moment.year}"
    if style == 2:
        return moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{moment.month:02d}/{moment.day:02d}/{moment.year} {moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"


def sloppy_date(rng: random.Random, day: date) -> str:
    if rng.random() < 0.5:
        return f"{day.month:02d}/{day.day:02d}/{day.year}"
    return f"{day.year}-{day.month}-{day.day}"


def maybe(rng: random.Random, value: str, present: float = 0.92) -> str | None:
    """The value, or (rarely) an empty or absent attribute, as real feeds have them."""
    roll = rng.random()
    if roll < present:
        return value
    return "" if roll < present + (1 - present) / 2 else None


def with_comma(amount: int) -> str:
    return f"{amount:,}"


# --------------------------------------------------------------------------
# the envelope and the edge cases both product lines share

class Envelope:
    """What every generated document shares, whatever its product: the Provenir
    envelope around the business part and the envelope's edge cases. A product's
    document has ``rng``, ``edge``, ``request`` and ``contacts`` (each a dict with
    ``attrs``) and says how its markup breaks."""

    def break_markup(self, business: str) -> str:
        return broken_markup(self.rng, business)

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
        request = open_tag("Request", self.request, "  ")
        return (
            f"{prefix}{declaration}<{root}>\n{request}>\n    <CustData>\n{business}\n    </CustData>\n  </Request>\n"
            f"{reports}</{root}>\n"
        )


def no_edit(doc: Envelope) -> None:
    return None


def blank_contact_fields(doc: Envelope) -> None:
    fields = ("first_name", "last_name", "ssn", "birth_date", "email", "middle_name", "annual_income", "id_number")
    for contact in doc.contacts:
        for name in doc.rng.sample(fields, doc.rng.randrange(3, len(fields) + 1)):
            contact["attrs"][name] = doc.rng.choice(("", "   "))


def missing_id(doc: Envelope) -> None:
    if doc.rng.random() < 0.5:
        del doc.request["ID"]
    else:
        doc.request["ID"] = ""


def broken_markup(rng: random.Random, business: str, application: str = "application",
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
                f'        <Tradeline seq="{seq}" creditor="{escape(rng.choice(EMPLOYERS).upper())}" type="{rng.choice(("REV", "INS", "MTG", "OPN"))}"'
                f' opened="{2000 + rng.randrange(25)}-{rng.randrange(1, 13):02d}" balance="{rng.randrange(0, 90000)}"'
                f' limit="{rng.randrange(0, 50000)}" status="{rng.choice(("CURR", "30", "60", "CO", "PAID"))}"'
                f' history="{"".join(rng.choice("CCCCCC12X-") for _ in range(48))}">'
                f'<Remark code="{rng.choice(("AC", "CLO", "DRP", "ACR"))}">{rng.choice(NOTE_PHRASES)}</Remark></Tradeline>'
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


def render_reports_of_size(rng: random.Random, key: int, target: int) -> str:
    """A ``Reports`` section of bureau reports whose chunks add up to at least ``target`` characters."""
    chunks = _report_chunks()
    parts = [f'  <Reports requestId="{key}">\n']
    size = 0
    report = 0
    while True:
        report += 1
        parts.append(
            f'    <Report id="{key}-{report}" bureau="{rng.choice(BUREAUS)}"'
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
