"""What the two product lines' generators share: pools, builders, the envelope, the reports.

``corpus`` (credit card) and ``recreational`` (recreational lending) both build
their documents from this module and import nothing from each other. Here are
the ``GeneratedDocument`` value and the edge-case tags, the made-up value pools
both products draw from (names, places, employers, note phrases), the markup
and value builders (``xml_element``, ``maybe``, ``provenir_datetime``, …), the
Provenir ``Envelope`` around a business part with its envelope edge cases,
``ProductDocument``: the model each product's document class extends, which
builds the parts both lines write alike (request, contact names and ID
document, address and job basics, scores, flags, notes) and the edge edits
(``EDGE_EDITS``) that do the same to either product's model, and the bulky
``Reports`` section that no mapping reads. Everything is invented: see
``corpus`` for the rules the pools follow.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

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
# the document model both product lines share: one applicant, many parts


@dataclass(frozen=True, slots=True)
class NoteStyle:
    """How a product line writes its notes."""

    tag: str
    longest_gap: int
    """Minutes at most between two notes."""
    authors: tuple[str, ...]
    categories: tuple[str, ...]
    phrases: tuple[str, ...]


class ProductDocument(Envelope):
    """Attribute dictionaries of one document of a product line, built first so edge cases can edit them.

    A product's class builds its parts in ``__init__`` (after this one's) and
    ends with ``edit_for_edge()``. It draws its own values; the parts both
    lines write alike (the request, a contact's names, ID document, places and
    jobs, scores, flags, notes, the edge edits) are built here. Every value
    comes from ``rng`` in the order the parts are built, so the order of the
    calls is part of the corpus: a change to it changes every document.
    """

    TWIN_ROLES: tuple[str, ...]
    """Roles the duplicated contact of ``duplicate_con_id`` may get."""
    INVALID_ROLES: tuple[str, ...]
    """Roles that ``invalid_role`` puts on a contact: none that the contract's contact rule keeps."""
    NOTES: NoteStyle

    def __init__(self, rng: random.Random, key: int, edge: str | None, worked: bool) -> None:
        self.rng = rng
        self.key = key
        self.edge = edge
        self.worked = worked
        self.received = EPOCH + timedelta(seconds=rng.randrange(3 * 365 * 86400),
                                           microseconds=rng.randrange(10) * 100000)

    @classmethod
    def build(cls, corpus: str, key: int, seed: int, with_reports: bool, edge_share: float) -> GeneratedDocument:
        """Document ``key`` of the corpus ``seed`` (independent of every other document); ``corpus`` names
        the product line's random stream."""
        # A string seed is hashed with SHA-512 by random.Random, so it is stable
        # across processes and Python versions, unlike hash() of a tuple.
        rng = random.Random(f"{corpus}:{seed}:{key}")
        edge = rng.choice(EDGE_CASES) if rng.random() < edge_share else None
        doc = cls(rng, key, edge, worked=with_reports)
        business = doc.render_business()
        reports = render_reports_of_size(rng, key, doc.report_target()) if with_reports else ""
        xml = doc.render(business, reports)
        encoding = "windows-1252" if edge == "encoding_declaration" else "utf-8"
        return GeneratedDocument(key=key, xml=xml, edge_case=edge, encoding=encoding)

    def edit_for_edge(self) -> None:
        if self.edge is not None:
            EDGE_EDITS.get(self.edge, no_edit)(self)

    # -- what each product line says for itself ------------------------------

    def render_business(self) -> str:
        raise NotImplementedError

    def report_target(self) -> int:
        """How many characters of bureau reports this document carries (``realistic`` profile)."""
        raise NotImplementedError

    def _contact(self, con_id: int, role: str) -> dict:
        raise NotImplementedError

    def _address(self, kind: str) -> dict:
        raise NotImplementedError

    def _employment(self, kind: str) -> dict:
        raise NotImplementedError

    def _note_count(self) -> int:
        raise NotImplementedError

    def overlong_business(self, filler: str, contact: dict) -> None:
        """``overlong_values`` for the product's own parts, once the first contact's names and addresses have it."""
        raise NotImplementedError

    def sloppy_business_dates(self) -> list[tuple[dict, str, date]]:
        """Where ``sloppy_dates`` writes which moment badly, in order, between the receive date and the
        birth dates: (attributes, name, a datetime or a date)."""
        raise NotImplementedError

    def comma_business_amounts(self) -> None:
        """``comma_amounts`` for the product's own amounts, before the contacts' incomes."""
        raise NotImplementedError

    def names_changed(self) -> None:
        """What follows from new contact names (``non_ascii_names``); nothing by default."""

    # -- parts both product lines build alike --------------------------------

    def _request_attrs(self, statuses: tuple[str, ...], slowest: float, versions: tuple[str, ...],
                       sources: tuple[str, ...], creators: tuple[str, ...] = ()) -> dict:
        """The attributes of ``Request``: its ID is the key; ``CreatedBy`` only where ``creators`` are given."""
        rng = self.rng
        attrs = {
            "ID": str(self.key),
            "Status": rng.choice(statuses),
            "ProcessingTime": f"{rng.uniform(0.05, slowest):.3f}",
            "Version": rng.choice(versions),
            "Source": rng.choice(sources),
        }
        if creators:
            attrs["CreatedBy"] = rng.choice(creators)
        attrs["RequestType"] = rng.choice(("NEW", "NEW", "NEW", "REPROCESS", "RESUBMIT"))
        attrs["TimeStamp"] = provenir_datetime(self.received + timedelta(seconds=rng.randrange(1, 90)))
        return attrs

    def _applicant(self, born_from: int, years: int) -> tuple[str, str, date, str]:
        """First and last name, birth date (within ``years`` years from ``born_from``) and SSN of a contact."""
        rng = self.rng
        first = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES)
        born = date(born_from, 1, 1) + timedelta(days=rng.randrange(0, 365 * years))
        ssn = f"666-{rng.randrange(10, 100)}-{rng.randrange(1000, 10000)}"
        return first, last, born, ssn

    def _name_attrs(self, con_id: int, role: str, first: str, last: str) -> dict:
        """A contact's first attributes: its ID, its role and its names."""
        rng = self.rng
        return {
            "con_id": str(con_id),
            "ac_role_tp_c": role,
            "first_name": first,
            "middle_name": maybe(rng, rng.choice(FIRST_NAMES), 0.4),
            "last_name": last,
            "suffix": rng.choice(SUFFIXES) if rng.random() < 0.05 else None,
        }

    def _email(self, first: str, last: str, present: float) -> str:
        rng = self.rng
        return f"{first}.{last}{rng.randrange(1, 99)}@{rng.choice(EMAIL_DOMAINS)}" if rng.random() < present else ""

    def _id_document_attrs(self) -> dict:
        """A contact's status flags and identity document, valid for a while after receipt."""
        rng = self.rng
        return {
            "military_ind": rng.choice(("N", "N", "N", "Y", "")),
            "employee_ind": rng.choice(("false", "false", "true", "no", "")),
            "id_type": rng.choice(("DL", "DL", "ST", "PP")),
            "id_number": f"D{rng.randrange(10**7, 10**8)}",
            "id_state": rng.choice(CITIES)[1],
            "id_expire_date": (self.received.date() + timedelta(days=rng.randrange(30, 2900))).isoformat(),
        }

    def _with_places(self, attrs: dict, address_shares: tuple[float, ...], job_shares: tuple[float, ...]) -> dict:
        """A contact: ``attrs``, then its current, previous and mailing addresses and its current and
        previous jobs, each there with its share."""
        rng = self.rng
        addresses = [self._address(kind) for kind, share in zip(("CURR", "PREV", "MAIL"), address_shares, strict=True)
                     if rng.random() < share]
        employments = [self._employment(kind) for kind, share in zip(("CURR", "PREV"), job_shares, strict=True)
                       if rng.random() < share]
        return {"attrs": attrs, "addresses": addresses, "employments": employments}

    def _street_attrs(self, type_attr: str, kind: str, units: tuple[str, ...]) -> dict:
        """The first attributes of an address of ``kind`` (``CURR``, ``PREV``, ``MAIL``): where it is."""
        rng = self.rng
        city, state = rng.choice(CITIES)
        return {
            type_attr: kind if rng.random() < 0.97 else kind.lower(),
            "street_num": str(rng.randrange(1, 20000)),
            "street_name": rng.choice(STREETS),
            "unit": rng.choice(units),
            "city": city,
            "state": state if rng.random() < 0.9 else state.lower(),
            "zip": f"{rng.randrange(10000, 99999)}" + (f"-{rng.randrange(1000, 9999)}" if rng.random() < 0.3 else ""),
        }

    def _job(self, lowest: int, highest: int) -> Job:
        """A job paying ``lowest`` to ``highest`` thousand a year."""
        rng = self.rng
        city, state = rng.choice(CITIES)
        frequency = rng.choice(INCOME_FREQ)
        yearly = rng.randrange(lowest, highest) * 1000
        tenure_days = rng.randrange(30, 9000)
        return Job(city, state, frequency, yearly, tenure_days, rng.choice(EMPLOYERS), rng.choice(JOB_TITLES))

    def _score_attrs(self, ranges: dict[str, tuple[range, float]]) -> dict:
        """Scores, each drawn from its range and there with its share."""
        rng = self.rng
        return {name: maybe(rng, str(rng.randrange(span.start, span.stop, span.step)), present)
                for name, (span, present) in ranges.items()}

    def _flag_attrs(self, names: tuple[str, ...]) -> dict:
        """Yes/no flags, mostly no, each spelt one of the ways source systems spell them."""
        rng = self.rng
        truthy = ("Y", "yes", "true", "1", "T", "TRUE")
        falsy = ("N", "no", "false", "0", "")
        return {name: rng.choice(truthy) if rng.random() < 0.15 else rng.choice(falsy) for name in names}

    def _notes(self) -> list[str]:
        """The note elements, ``_note_count()`` of them, minutes to days apart from receipt on."""
        rng = self.rng
        style = self.NOTES
        count = self._note_count()
        moment = self.received
        notes = []
        for seq in range(1, count + 1):
            moment += timedelta(minutes=rng.randrange(5, style.longest_gap))
            text = " ".join(rng.choice(style.phrases) for _ in range(rng.randrange(1, 4)))
            notes.append(
                f'          <{style.tag} seq="{seq}" author="{rng.choice(style.authors)}"'
                f' created="{provenir_datetime(moment)}" category="{rng.choice(style.categories)}">'
                f"{escape(text)}</{style.tag}>"
            )
        return notes


@dataclass(frozen=True, slots=True)
class Job:
    """A contact's job (``ProductDocument._job``): where, how often and how much it pays, how long it has lasted."""

    city: str
    state: str
    frequency: str
    yearly: int
    tenure_days: int
    employer: str
    title: str

    def named(self, type_attr: str, kind: str) -> dict:
        """The first attributes of an employment of ``kind`` (``CURR``, ``PREV``): which job it is."""
        return {type_attr: kind, "employer_name": self.employer, "job_title": self.title}

    def pay_attrs(self, rng: random.Random, income_attr: str) -> dict:
        """The pay per period (as ``income_attr``) and the tenure."""
        per_period = {"W": 52, "BW": 26, "SM": 24, "M": 12, "A": 1}[self.frequency]
        return {
            income_attr: f"{self.yearly / per_period:.2f}",
            "income_frequency": self.frequency,
            "months_at_job": str(self.tenure_days % 365 // 31),
            "years_at_job": maybe(rng, str(self.tenure_days // 365), 0.85),
            "self_employed_ind": rng.choice(("N", "N", "N", "Y")),
        }

    def started(self, received: datetime) -> str:
        return (received.date() - timedelta(days=self.tenure_days)).isoformat()


# --------------------------------------------------------------------------
# edge cases on the product models: each edits an otherwise ordinary document


def duplicate_con_id(doc: ProductDocument) -> None:
    first = doc.contacts[0]["attrs"]
    twin = doc._contact(int(first["con_id"]), doc.rng.choice(doc.TWIN_ROLES))
    # Before or after the original: the dedupe tie-break depends on document order.
    doc.contacts.insert(doc.rng.randrange(0, len(doc.contacts) + 1), twin)


def invalid_role(doc: ProductDocument) -> None:
    victim = doc.rng.choice(doc.contacts)
    victim["attrs"]["ac_role_tp_c"] = doc.rng.choice(doc.INVALID_ROLES)
    if doc.rng.random() < 0.3:
        victim["attrs"]["con_id"] = ""


def overlong_values(doc: ProductDocument) -> None:
    filler = "Overlong value from an upstream free-text field " * doc.rng.randrange(6, 14)
    contact = doc.contacts[0]
    contact["attrs"]["first_name"] = "Maximiliana-" + filler
    contact["attrs"]["email"] = filler.replace(" ", ".").lower() + "@example.com"
    for address in contact["addresses"]:
        address["street_name"] = filler
        address["city"] = "City of " + filler
    doc.overlong_business(filler, contact)


def sloppy_dates(doc: ProductDocument) -> None:
    rng = doc.rng
    doc.application["app_receive_date"] = sloppy_datetime(rng, doc.received)
    for attrs, name, moment in doc.sloppy_business_dates():
        attrs[name] = sloppy_datetime(rng, moment) if isinstance(moment, datetime) else sloppy_date(rng, moment)
    for contact in doc.contacts:
        born = date.fromisoformat(contact["attrs"]["birth_date"])
        contact["attrs"]["birth_date"] = sloppy_date(rng, born)


def comma_amounts(doc: ProductDocument) -> None:
    doc.comma_business_amounts()
    for contact in doc.contacts:
        if contact["attrs"]["annual_income"]:
            contact["attrs"]["annual_income"] = with_comma(int(contact["attrs"]["annual_income"]))


def non_ascii_names(doc: ProductDocument, first_pool: tuple[str, ...] = NON_ASCII_FIRST,
                    last_pool: tuple[str, ...] = NON_ASCII_LAST) -> None:
    rng = doc.rng
    for contact in doc.contacts:
        contact["attrs"]["first_name"] = rng.choice(first_pool)
        contact["attrs"]["last_name"] = rng.choice(last_pool)
    if doc.contacts[0]["addresses"]:
        doc.contacts[0]["addresses"][0]["city"] = rng.choice(("Ógdén", "Montréal-Nord", "São Bento"))
    doc.names_changed()


def encoding_declaration(doc: ProductDocument) -> None:
    # Only characters that windows-1252 can encode, so the declaration is true.
    non_ascii_names(doc, CP1252_FIRST, CP1252_LAST)


EDGE_EDITS = {
    "blank_contact_fields": blank_contact_fields,
    "duplicate_con_id": duplicate_con_id,
    "invalid_role": invalid_role,
    "overlong_values": overlong_values,
    "sloppy_dates": sloppy_dates,
    "comma_amounts": comma_amounts,
    "non_ascii_names": non_ascii_names,
    "encoding_declaration": encoding_declaration,
    "missing_id": missing_id,
}
"""What each edge case does to a document model (``malformed_xml``, ``wrong_root`` and ``bom`` are the envelope's)."""


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
