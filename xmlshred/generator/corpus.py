"""The synthetic corpus: ``generate_documents`` for both product lines, and the credit-card document.

Every value is invented: names come from small made-up pools, SSNs use the
666 area number (never issued), phones the 555-01xx range, e-mail addresses
the example.* domains. Documents are deterministic: document ``key`` of a
corpus with seed ``seed`` is built from ``random.Random`` seeded with both,
so any slice of a corpus can be regenerated on its own.

The credit-card business part (``/Provenir/Request/CustData/application``)
carries every attribute that ``examples/credit_card/contract.json`` reads; the
``realistic`` profile adds a bulky ``Reports`` section after it, which no
mapping reads, so that documents have the size and shape of production ones.
What both product lines share (pools, builders, envelope, reports) is in
``common``; the recreational-lending document is in ``recreational``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta

from .common import (
    BUREAUS,
    EDGE_CASES,
    FAILING_EDGE_CASES,
    MARITAL,
    NOTE_PHRASES,
    RESIDENCE,
    GeneratedDocument,
    NoteStyle,
    ProductDocument,
    maybe,
    provenir_datetime,
    with_comma,
    xml_element,
)
from .recreational import generate_rl_document

__all__ = [
    "EDGE_CASES",
    "FAILING_EDGE_CASES",
    "PRODUCTS",
    "PROFILES",
    "GeneratedDocument",
    "generate_document",
    "generate_documents",
]

PROFILES = ("realistic", "small")
PRODUCTS = ("cc", "rl")
"""Product lines: ``cc`` credit-card applications (this module), ``rl`` recreational lending (``recreational``)."""


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
    build = generate_rl_document if product == "rl" else generate_document
    for key in range(start_key, start_key + count):
        yield build(key, seed, with_reports, edge_share)


def generate_document(key: int, seed: int, with_reports: bool, edge_share: float) -> GeneratedDocument:
    """Build credit-card document ``key`` of the corpus ``seed`` (independent of every other document)."""
    return _DocumentModel.build("xmlshred-corpus", key, seed, with_reports, edge_share)


# --------------------------------------------------------------------------
# value pools of the credit-card documents (all made up)

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
_EDUCATION = ("HS", "AA", "BA", "BS", "MS", "PHD", "NONE", "")
_HOUSING = ("OWN", "RENT", "RENT", "FAM", "OTH")
_FUNDING = ("ACH", "CHECK", "WIRE", "DEBIT", "")
_OTHER_ROLES = ("GUAR", "SEC", "COAPP", "JOINT")
_QUEUES = ("AUTO", "UW_STANDARD", "UW_SENIOR", "FRAUD_REVIEW", "DOC_VERIFY")
_REVIEW_REASONS = ("INCOME", "ID_MISMATCH", "THIN_FILE", "HIGH_EXPOSURE", "")
# Each score's range and how often it is there; the income model is in whole thousands.
_SCORES = {"fico_08": (range(480, 851), 0.9), "vantage_40": (range(480, 851), 0.7), "bk_score": (range(1, 1000), 0.6),
           "fraud_score": (range(1, 1000), 0.8), "income_model": (range(15_000, 300_000, 1000), 0.5),
           "custom_risk": (range(0, 1000), 0.8), "attrition_score": (range(0, 100), 0.3)}


class _DocumentModel(ProductDocument):
    """Attribute dictionaries of one credit-card document, built first so edge cases can edit them."""

    def __init__(self, rng: random.Random, key: int, edge: str | None, worked: bool) -> None:
        super().__init__(rng, key, edge, worked)
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
        self.edit_for_edge()

    # -- elements ----------------------------------------------------------

    def _request(self) -> dict:
        return self._request_attrs(_STATUSES, 9.5, versions=("3.2", "3.2", "3.3", "4.0"),
                                   sources=("web", "WEB", "branch", "phone", "mail", "api"),
                                   creators=("svc_web01", "svc_web02", "svc_batch", "svc_branch", ""))

    def _application(self) -> dict:
        rng = self.rng
        received = self.received
        solicited = rng.random() < 0.4
        mail_day = (received - timedelta(days=rng.randrange(5, 80))).date()
        entry = received + timedelta(minutes=rng.randrange(1, 600))
        attrs = {
            "app_receive_date": provenir_datetime(received),
            "app_entry_date": maybe(rng, provenir_datetime(entry), 0.75),
            "signature_ind": rng.choice(("Y", "Y", "Y", "N", "", "y")),
            "paperless_flag": rng.choice(("true", "false", "yes", "no", "1", "0", "TRUE", "")),
            "pricing_tier": maybe(rng, str(rng.randrange(1, 100)), 0.9),
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
            "prior_app_id": maybe(rng, str(rng.randrange(100000, 999999)), 0.25),
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
            "credit_line": with_comma(line) if rng.random() < 0.15 else str(line),
            "requested_line": maybe(rng, str(requested), 0.85),
            "apr": f"{rng.uniform(9.99, 29.99):.2f}",
            "promo_apr": f"{rng.choice((0, 0, 1.99, 3.99, 4.99)):.2f}" if promo else None,
            "promo_months": str(promo) if promo else maybe(rng, "0", 0.5),
            "late_fee": rng.choice(("Up to $40", "Up to $41.00", "$29", "30.00", "None", "")),
            "annual_fee": f"${fee}" if rng.random() < 0.6 else f"{fee}.00",
            "annual_fee_amt": f"{fee}.00",
            "cash_adv_fee": rng.choice(("5% or $10", "$10 or 5%", "3%", "")),
            "min_payment_pct": rng.choice(("1", "2", "2.5", "3", "")),
            "cashback_rate": rng.choice(("1.5", "2", "0.5", "", "3.25")),
            "rewards_tp_c": rng.choice(_REWARDS),
            "balance_transfer_ind": rng.choice(("Y", "N", "N", "", "T")),
            "risk_grade": rng.choice(("a", "B", "C", "d", "E", "")),
            "decision_date": decided.date().isoformat() if rng.random() < 0.8 else provenir_datetime(decided),
            "review_count": str(rng.randrange(0, 8)),
            "card_art_cd": rng.choice(("ART01", "ART02", "ART07", "BLUE", "")),
            "pricing_strategy": rng.choice(("RISK_BASED_V3", "CHAMPION", "CHALLENGER_A", "CHALLENGER_B")),
            "fico_score": maybe(rng, str(rng.randrange(520, 850)), 0.9),
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
        first, last, born, ssn = self._applicant(1940, 65)
        if rng.random() < 0.2:
            ssn = ssn.replace("-", "")
        attrs = {
            **self._name_attrs(con_id, role, first, last),
            "ssn": ssn,
            "birth_date": born.isoformat(),
            "email": self._email(first, last, 0.9),
            "citizenship_tp_c": rng.choice(_CITIZENSHIP),
            "marital_status": rng.choice(MARITAL),
            "dependents_cnt": str(rng.randrange(0, 6)),
            "education_tp_c": rng.choice(_EDUCATION),
            **self._id_document_attrs(),
            "annual_income": str(rng.randrange(12, 300) * 1000) if rng.random() < 0.85 else "",
            "other_income": rng.choice(("", "", "$250/mo", "1200", "Up to $500", "0")),
            "housing_status": rng.choice(_HOUSING),
            "preferred_contact": rng.choice(("EMAIL", "PHONE", "MAIL", "SMS", "")),
            "consent_date": maybe(rng, provenir_datetime(self.received), 0.6),
        }
        return self._with_places(attrs, address_shares=(0.95, 0.4, 0.05), job_shares=(0.85, 0.35))

    def _address(self, kind: str) -> dict:
        rng = self.rng
        return {
            **self._street_attrs("address_tp_c", kind, ("", "", "", "Apt 4", "Unit 12B", "#301")),
            "country_cd": rng.choice(("USA", "USA", "US", "")),
            "residence_tp_c": rng.choice(RESIDENCE),
            "residence_monthly_pymnt": f"{rng.randrange(0, 4000)}.{rng.randrange(100):02d}" if rng.random() < 0.8 else "",
            "months_at_residence": str(rng.randrange(0, 12)),
            "years_at_residence": maybe(rng, str(rng.randrange(0, 30)), 0.85),
            "cell_phone": f"({rng.randrange(200, 999)}) 555-01{rng.randrange(100):02d}",
            "home_phone": maybe(rng, f"{rng.randrange(200, 999)}-555-01{rng.randrange(100):02d}", 0.5),
            "verified_ind": rng.choice(("Y", "N", "")),
        }

    def _employment(self, kind: str) -> dict:
        rng = self.rng
        job = self._job(15, 250)
        return {
            **job.named("employment_tp_c", kind),
            "occupation_cd": rng.choice(("11-1021", "29-1141", "25-2021", "53-3032", "")),
            "employer_phone": maybe(rng, f"{rng.randrange(200, 999)}.555.01{rng.randrange(100):02d}", 0.7),
            **job.pay_attrs(rng, "income_amt"),
            "employer_city": job.city,
            "employer_state": job.state,
            "start_date": job.started(self.received),
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
            "booked_date": provenir_datetime(booked),
            "first_txn_date": txn.date().isoformat() if has_txn else "",
            "first_txn_amount": f"{rng.uniform(1, 900):.2f}" if has_txn else rng.choice(("", "0.00")),
            "funding_method": rng.choice(_FUNDING),
            "card_mailed_date": (booked + timedelta(days=rng.randrange(1, 5))).date().isoformat(),
            "embossed_name": f"{self.contacts[0]['attrs']['first_name']} {self.contacts[0]['attrs']['last_name']}",
            "activation_ind": rng.choice(("true", "false", "")),
            "statement_cycle": str(rng.randrange(1, 29)),
            "bureau_pulled": rng.choice(BUREAUS),
            "rmts_status": rng.choice(("BOOKED", "PENDING", "CLOSED", "")),
            "auth_hold_amt": rng.choice(("", "1.00", "0.00", "25.5")),
            "legacy_acct": rng.choice(("L-00017", "null", None, None)),
        }

    def _indicators(self) -> dict:
        return self._flag_attrs((
            "fraud_alert", "ofac_hit", "id_verified", "mla_covered", "bankruptcy_flag",
            "deceased_flag", "frozen_file", "address_mismatch", "thin_file", "ssn_mismatch",
            "income_verified",
        ))

    def _scores(self) -> dict:
        return self._score_attrs(_SCORES)

    def _credit_summary(self) -> dict:
        rng = self.rng
        return {
            "bureau": rng.choice(BUREAUS),
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

    NOTES = NoteStyle(tag="app_note", longest_gap=3000, authors=("uw0142", "uw0177", "csr031", "system"),
                      categories=("CALL", "DOC", "UW", "FRAUD"), phrases=NOTE_PHRASES)

    def _note_count(self) -> int:
        rng = self.rng
        # Production-like documents carry a handful to a few dozen notes; the
        # long tail of heavily worked ones is what pushes the business part
        # toward ~35 KB. The small profile keeps only a few.
        roll = rng.random()
        if not self.worked:
            return rng.randrange(1, 7)
        if roll < 0.55:
            return rng.randrange(4, 14)
        if roll < 0.97:
            return rng.randrange(12, 36)
        return rng.randrange(60, 110)

    def report_target(self) -> int:
        rng = self.rng
        if rng.random() < _LARGE_SHARE:
            return rng.randrange(1_600_000, 2_100_000)
        # Triangular with a mean of ~225 KB: with the rare 2 MB documents and
        # the ~8 KB business part, documents average ~250 KB.
        return int(rng.triangular(30_000, 500_000, 140_000))

    # -- rendering ---------------------------------------------------------

    def render_business(self) -> str:
        """The <application> element with everything the contract reads."""
        indent = "      "
        children = [xml_element("app_product", self.product, indent + "  ")]
        for contact in self.contacts:
            inner = indent + "    "
            grand = [xml_element("contact_address", a, inner) for a in contact["addresses"]]
            grand += [xml_element("contact_employment", e, inner) for e in contact["employments"]]
            children.append(xml_element("contact", contact["attrs"], indent + "  ", grand))
        children.append(xml_element("rmts_info", self.rmts, indent + "  "))
        children.append(xml_element("Indicators", self.indicators, indent + "  "))
        children.append(xml_element("scores", self.scores, indent + "  "))
        children.append(xml_element("credit_report_summary", self.credit_summary, indent + "  "))
        children.append(xml_element("fraud_check_summary", self.fraud_summary, indent + "  "))
        children.append(f"{indent}  <app_notes>\n" + "\n".join(self.notes) + f"\n{indent}  </app_notes>")
        return xml_element("application", self.application, indent, children)

    # -- edge cases: what the shared edits do to the credit-card parts -------

    TWIN_ROLES = ("AUTHU", "PR", "authu")
    INVALID_ROLES = ("GUAR", "XX", "", "P R", "AUTH")

    def overlong_business(self, filler: str, contact: dict) -> None:
        for job in contact["employments"]:
            job["employer_name"] = filler
        self.application["sub_channel"] = filler
        self.product["pricing_strategy"] = filler

    def sloppy_business_dates(self) -> list[tuple[dict, str, date]]:
        return [(self.rmts, "booked_date", self.received + timedelta(days=2, hours=3, minutes=7)),
                (self.product, "decision_date", self.received.date())]

    def comma_business_amounts(self) -> None:
        rng = self.rng
        line = rng.randrange(10, 60) * 100
        self.product["credit_line"] = with_comma(line)
        self.product["requested_line"] = with_comma(line + 500)
        self.application["annual_income_stated"] = with_comma(rng.randrange(20, 400) * 1000)

    def names_changed(self) -> None:
        self.rmts["embossed_name"] = f"{self.contacts[0]['attrs']['first_name']} {self.contacts[0]['attrs']['last_name']}"


_LARGE_SHARE = 0.005
