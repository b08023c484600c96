"""Synthetic recreational-lending (RL) applications shaped like real Provenir XML.

The RL product line finances boats, RVs, motorcycles, personal watercraft and
the like. Its documents keep the business data under
``/Provenir/Request/CustData/IL_application``: ``IL_contact`` elements (role
``PR`` and, on joint applications, ``SEC``) with their ``IL_contact_address``
and ``IL_contact_employment`` children, then single elements: ``IL_collateral``
(up to four collateral slots as ``coll1_…``–``coll4_…`` attributes),
``IL_pricing``, ``IL_dealer``, ``IL_backend_policies`` (warranty and insurance
products), ``IL_app_decision_info`` (decision and policy exceptions),
``IL_fund_checklist``, scores, flags, summaries and notes. The ``realistic``
profile adds bulky bureau reports after the business part, as the credit-card
generator does.

Every value is invented: names from small made-up pools, SSNs in the 666 area,
phones in 555-01xx, e-mail addresses on example.* domains, makes and dealers
that do not exist. Document ``key`` of corpus ``seed`` is built from its own
``random.Random``, so any slice regenerates on its own. Every attribute that
``examples/recreational_lending/contract.json`` reads appears, with realistic
gaps: zero option values, ghost collateral slots, ``null``/``NONE`` exception
codes, junk dates, ``$`` and thousands commas.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from .common import (
    CITIES,
    FIRST_NAMES,
    LAST_NAMES,
    MARITAL,
    RESIDENCE,
    GeneratedDocument,
    NoteStyle,
    ProductDocument,
    broken_markup,
    maybe,
    provenir_datetime,
    sloppy_date,
    with_comma,
    xml_element,
)

_APP_TYPES = ("MARINE", "MARINE", "MARINE", "RV", "RV", "RV", "MC", "PWC", "SNOW", "ATV")
_SUB_TYPES = ("NEW", "NEW", "USED", "USED", "USED", "REFI", "PRIVATE", "")
_STATUSES = ("A", "A", "A", "P", "P", "D", "R", "W")
_SOURCES = ("DLR", "DLR", "DLR", "DLR", "DIR", "WEB", "BR", "")
_DECISIONS = ("APPRV", "APPRV", "APPRV", "COND", "DECLN", "PEND", "CNTR", "")
_PURPOSES = ("PURCHASE", "PURCHASE", "PURCHASE", "REFINANCE", "PRIVATE_PARTY", "")
_OFFICERS = ("OF101", "OF102", "OF117", "OF130", "FD1", "of117", "OF999", "")
_UNDERWRITERS = ("UW21", "UW22", "UW35", "uw22", "UW90", "")
_CHECK_REQUESTERS = ("FINANCE DESK - EAST", "Finance Desk", "dealer portal", "OF102", "OF130", "fd1", "J. Marsh", "")
_FINAL_APPROVERS = ("AUTO-ENGINE", "AUTO_RULES_V2", "UW21", "UW35", "uw22", "Senior Credit", "")
_HOUSING = ("OWN", "RENT", "RENT", "FAM", "OTH", "")
_CITIZENSHIP = ("USC", "USC", "USC", "USC", "PRA", "NRA", "")
_FUNDING_METHODS = ("ACH", "ACH", "CHECK", "WIRE", "FLOOR", "EFT", "")
_DEALER_TYPES = ("FRAN", "FRAN", "IND", "IND", "BRKR", "PRIV", "")
_DEALER_WORDS = ("Harbor", "Lakeside", "Summit", "Trailhead", "Open Road", "Bayfront", "Ridgeline", "Riverbend",
                 "Northstar", "Canyon")
_DEALER_KINDS = ("Marine", "RV Center", "Powersports", "Boats & Motors", "Outdoor Sales", "Coach Works")
_RELATIONSHIPS = ("SPOUSE", "PARTNER", "PARENT", "SIBLING", "OTHER", "")
_EXCEPTION_CODES = {
    "override_dti": ("DTI48", "DTI50", "DTI52", "DTI55"),
    "override_ltv": ("LTV125", "LTV130", "LTV-EXCEPTION-135"),
    "override_credit": ("FICO-MIN", "BK-SEASONING", "THIN-FILE"),
    "override_income": ("POI-WAIVED", "STATED-INC"),
    "override_term": ("TERM180", "TERM240"),
    "override_pricing": ("RATE-MATCH", "BUYDOWN"),
}
_EXCEPTION_NOTES = (
    "Compensating factors: long job tenure, low revolving utilization, verified reserves.",
    "Approved by regional credit manager after second look.",
    "Strong prior installment history with this lender.",
    "Dealer recourse agreement on file for this exception.",
    "Large down payment offsets the collateral exception.",
)
NOTE_PHRASES = (
    "Dealer submitted the buyer's order and the signed credit application.",
    "Called applicant to verify employment and time at residence.",
    "Collateral value checked against the valuation guide; within tolerance.",
    "Requested proof of income: two recent pay statements.",
    "Title application received from the dealer; awaiting lien recording.",
    "Insurance binder received with the lender listed as loss payee.",
    "Co-applicant added at the dealer's request; new credit pull authorised.",
    "Stipulations cleared by funding; contract package complete.",
    "Rate exception discussed with the dealer's finance manager.",
    "Trailer added to the deal as a second collateral slot.",
)
_STIPULATIONS = ("POI", "POR", "INSURANCE", "TITLE", "REFERENCES", "BANK_STMT", "ID_COPY", "SIGNED_CONTRACT")
_WARRANTY_COMPANIES = {
    "gap": ("Harborline GAP Co", "Keelguard Protection", "Anchorpoint GAP"),
    "cl": ("Lifeline Credit Insurance", "Tidewater Life Co"),
    "rsa": ("Roadside Plus Nationwide", "TowWell Assist", "Wayfarer Roadside"),
    "svc": ("Anchor Service Plans", "Milepost Mechanical", "Sternward Service Co"),
    "tw": ("TreadSafe Tire & Wheel", "RimGuard Protection"),
    "dis": ("Steady Income Disability", "Payshield Insurance"),
}
_WARRANTY_SHARE = {"gap": 0.4, "cl": 0.1, "rsa": 0.25, "svc": 0.45, "tw": 0.15, "dis": 0.08}
_COLLATERAL = {
    # app type: (kind, makes, models) of the main unit, then what may come with it
    "MARINE": ("BOAT", ("Gullwing Marine", "Tidewater Boats", "Bluefin Craft", "Harborcraft"),
               ("Bay 19", "Cruiser 23", "Angler 17", "Pontoon 22", "Deck 21 SE")),
    "RV": ("RV", ("Roamwell Coach", "Wanderlite RV", "Trailblazer Coach", "Pinecone Campers"),
           ("Class C 24", "Fifth Wheel 31", "Travel 26RB", "Class A 36")),
    "MC": ("MOTORCYCLE", ("Thunderline Cycles", "Ridgeback Motorcycles"), ("Tourer 1800", "Cruiser 1200", "Sport 750")),
    "PWC": ("PWC", ("Splashjet", "Aquadart"), ("SJ-3 Rec", "AD 160 Sport")),
    "SNOW": ("SNOWMOBILE", ("Frostline Sleds", "Polar Drift"), ("Trail 600", "Mountain 850")),
    "ATV": ("ATV", ("Mudtrax", "Ridgecrawler"), ("4x4 570", "Utility 450")),
}
_ADDONS = (
    ("TRAILER", ("EZ Hauler Trailer", "Shoreline Trailers", "Trailstar Hauler"), ("Single Axle 18", "Tandem 24")),
    ("ENGINE", ("Seaspark Outboard", "Torrent Marine Engines"), ("150 HP", "200 HP", "90 HP")),
    ("TOW", ("Pathway Motors", "Stonegate Trucks"), ("Tow 2500", "Hauler HD")),
)
_VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
# Each score's range and how often it is there.
_SCORES = {"fico_08": (range(520, 851), 0.9), "fico_auto_8": (range(500, 901), 0.6), "vantage_40": (range(480, 851), 0.5),
           "bk_score": (range(1, 1000), 0.5), "custom_rl_score": (range(100, 999), 0.8), "pd_bps": (range(5, 2000), 0.7)}


def generate_rl_document(key: int, seed: int, with_reports: bool, edge_share: float) -> GeneratedDocument:
    """Build RL document ``key`` of the corpus ``seed`` (independent of every other document)."""
    return _RlDocument.build("xmlshred-rl-corpus", key, seed, with_reports, edge_share)


def _money(rng: random.Random, amount: float, comma_share: float = 0.1) -> str:
    """An amount as source systems write it: plain, with cents, or (sometimes) with $ and commas."""
    roll = rng.random()
    if roll < comma_share:
        return f"${amount:,.2f}" if rng.random() < 0.5 else f"{amount:,.0f}"
    if roll < 0.6:
        return f"{amount:.2f}"
    return f"{amount:.0f}"


def _vin(rng: random.Random, length: int = 17) -> str:
    text = "".join(rng.choice(_VIN_CHARS) for _ in range(length))
    return text if rng.random() < 0.9 else text.lower()


class _RlDocument(ProductDocument):
    """Attribute dictionaries of one RL document, built first so edge cases can edit them."""

    def __init__(self, rng: random.Random, key: int, edge: str | None, worked: bool) -> None:
        super().__init__(rng, key, edge, worked)
        self.app_type = rng.choice(_APP_TYPES)
        self.request = self._request()
        self.application = self._application()
        self.contacts = self._contacts()
        self.collateral, self.slots = self._collateral()
        self.pricing = self._pricing()
        self.dealer = self._dealer() if self.application["app_source_code"] in ("DLR", "BR", "") or rng.random() < 0.2 else None
        self.policies = self._policies()
        self.decision = self._decision()
        self.funding = self._funding() if self.decision["decision_code"] in ("APPRV", "COND", "CNTR") and rng.random() < 0.75 else None
        self.scores = self._scores()
        self.flags = self._flags()
        self.credit_summary = self._credit_summary()
        self.valuation = self._valuation() if rng.random() < 0.7 else None
        self.legacy = self._legacy() if rng.random() < 0.25 else None
        self.stipulations = self._stipulations()
        self.notes = self._notes()
        self.edit_for_edge()

    def _requested(self) -> int:
        return int(self.application["requested_amount"].replace(",", ""))

    # -- elements ----------------------------------------------------------

    def _request(self) -> dict:
        return self._request_attrs(("A", "A", "P", "D"), 12.0, versions=("5.1", "5.1", "5.2"),
                                   sources=("dealer_portal", "DEALER_PORTAL", "web", "branch", "api"))

    def _application(self) -> dict:
        rng = self.rng
        received = self.received
        requested = rng.randrange(40, 1800) * 100
        down = rng.choice((0, 0, rng.randrange(5, 200) * 100, rng.randrange(5, 80) * 250))
        income = rng.randrange(2500, 25000)
        return {
            "app_receive_date": provenir_datetime(received),
            "app_entry_date": maybe(rng, provenir_datetime(received + timedelta(minutes=rng.randrange(1, 900))), 0.7),
            "app_type_code": self.app_type if rng.random() < 0.97 else self.app_type.lower(),
            "sub_type_code": rng.choice(_SUB_TYPES),
            "app_status": rng.choice(_STATUSES),
            "app_source_code": rng.choice(_SOURCES),
            "decision_code": rng.choice(_DECISIONS),
            "language_code": rng.choice(("EN", "EN", "EN", "EN", "ES", "en", "")),
            "application_num": f"RL-{received.year}-{self.key:09d}",
            "lender_num": rng.choice(("L-0042", "L-0107", "LN 0311", "0042")),
            "region_code": str(rng.randrange(1, 10)),
            "branch_code": maybe(rng, str(rng.randrange(1, 400)), 0.8),
            "priority": maybe(rng, str(rng.randrange(1, 6)), 0.9),
            "esign_ind": rng.choice(("Y", "Y", "N", "", "y")),
            "paperless": rng.choice(("true", "false", "yes", "no", "1", "0", "")),
            "joint_app_ind": "N",
            "is_test": rng.choice(("false", "false", "false", "false", "true", "")),
            "loan_purpose": rng.choice(_PURPOSES),
            "requested_amount": str(requested) if rng.random() < 0.8 else with_comma(requested),
            "requested_term": str(rng.choice((36, 48, 60, 72, 84, 120, 144, 180, 240))),
            "down_payment": str(down) if rng.random() < 0.9 else rng.choice(("", "0.00")),
            "trade_in_value": rng.choice(("", "", "0", str(rng.randrange(5, 300) * 100))),
            "stated_monthly_income": (str(income) if rng.random() < 0.98
                                      else "org.mozilla.javascript.Undefined@79eee12e"),
            "last_update": maybe(rng, provenir_datetime(received + timedelta(hours=rng.randrange(1, 200))), 0.6),
            "ip_address": f"198.51.100.{rng.randrange(1, 255)}" if rng.random() < 0.8 else f"2001:db8::{rng.randrange(1, 65535):x}",
            "device_id": f"dev-{rng.getrandbits(48):012x}",
            "intake_notes": maybe(rng, " ".join(rng.choice(NOTE_PHRASES) for _ in range(rng.randrange(1, 4))), 0.5),
            "assigned_officer": rng.choice(_OFFICERS),
            "chk_requested_by": rng.choice(_CHECK_REQUESTERS),
            "promo_source": rng.choice(("BOAT_SHOW_25", "RV_EXPO", "SPRING_SALE", "", "")),
        }

    def _contacts(self) -> list[dict]:
        rng = self.rng
        contacts = [self._contact(self.key * 10 + 1, "PR")]
        if rng.random() < 0.45:
            self.application["joint_app_ind"] = "Y"
            contacts.append(self._contact(self.key * 10 + 2, "SEC" if rng.random() < 0.97 else "sec"))
        if rng.random() < 0.04:
            # A guarantor: not a contact type of the contact rule, so it is dropped.
            contacts.append(self._contact(self.key * 10 + 3, "GUAR"))
        return contacts

    def _contact(self, con_id: int, role: str) -> dict:
        rng = self.rng
        first, last, born, ssn = self._applicant(1945, 60)
        attrs = {
            **self._name_attrs(con_id, role, first, last),
            "ssn": ssn if rng.random() < 0.8 else ssn.replace("-", ""),
            "birth_date": born.isoformat(),
            "email": self._email(first, last, 0.85),
            "home_phone": maybe(rng, f"{rng.randrange(200, 999)}-555-01{rng.randrange(100):02d}", 0.4),
            "cell_phone": f"({rng.randrange(200, 999)}) 555-01{rng.randrange(100):02d}",
            "work_phone": maybe(rng, f"{rng.randrange(200, 999)}.555.01{rng.randrange(100):02d}", 0.5),
            "citizenship_code": rng.choice(_CITIZENSHIP),
            "marital_status": rng.choice(MARITAL),
            "dependents": str(rng.randrange(0, 6)),
            **self._id_document_attrs(),
            "annual_income": str(rng.randrange(18, 400) * 1000) if rng.random() < 0.85 else "",
            "other_income": rng.choice(("", "", "", "$400/mo", "1500", "Up to $900", "0")),
            "housing_status": rng.choice(_HOUSING),
            "esign_ind": rng.choice(("Y", "Y", "N", "")) if rng.random() < 0.9 else None,
            "relationship_code": rng.choice(_RELATIONSHIPS) if role.upper() != "PR" else None,
            "contact_notes": maybe(rng, rng.choice(NOTE_PHRASES), 0.15),
        }
        return self._with_places(attrs, address_shares=(0.96, 0.35, 0.05), job_shares=(0.85, 0.3))

    def _address(self, kind: str) -> dict:
        rng = self.rng
        return {
            **self._street_attrs("address_type_code", kind, ("", "", "", "Apt 4", "Unit 12B", "#301", "Slip 14")),
            "county": maybe(rng, f"{rng.choice(LAST_NAMES)} County", 0.6),
            "country_code": rng.choice(("USA", "USA", "US", "")),
            "residence_type": rng.choice(RESIDENCE),
            "residence_monthly_pymnt": rng.choice((f"{rng.randrange(0, 4500)}.{rng.randrange(100):02d}",
                                                   with_comma(rng.randrange(900, 4500)), "")),
            "months_at_address": maybe(rng, str(rng.randrange(0, 12)), 0.85),
            "years_at_address": maybe(rng, str(rng.randrange(0, 30)), 0.85),
            "verified_ind": rng.choice(("Y", "N", "")),
        }

    def _employment(self, kind: str) -> dict:
        rng = self.rng
        job = self._job(18, 300)
        return {
            **job.named("employment_type_code", kind),
            "employer_phone": maybe(rng, f"({rng.randrange(200, 999)}) 555-01{rng.randrange(100):02d}", 0.7),
            **job.pay_attrs(rng, "income_amount"),
            "start_date": job.started(self.received),
            "employer_city": job.city,
            "employer_state": job.state,
        }

    def _collateral(self) -> tuple[dict, int]:
        rng = self.rng
        roll = rng.random()
        slots = 1 if roll < 0.55 else 2 if roll < 0.85 else 3 if roll < 0.97 else 4
        kind, makes, models = _COLLATERAL[self.app_type]
        attrs: dict = {}
        for n in range(1, slots + 1):
            if n == 1:
                unit_kind, unit_makes, unit_models = kind, makes, models
            else:
                unit_kind, unit_makes, unit_models = rng.choice(_ADDONS)
            attrs.update(self._slot(n, unit_kind, unit_makes, unit_models))
        if slots < 4 and rng.random() < 0.3:
            # A ghost slot: the source fills the next slot with zeros and blanks.
            n = slots + 1
            attrs.update({f"coll{n}_make": "", f"coll{n}_new_used": rng.choice(("N", "U", "")),
                          f"coll{n}_wholesale_value": rng.choice(("0", "0.00", "")),
                          f"coll{n}_option_value": rng.choice(("0", "0.00"))})
        return attrs, slots

    def _slot(self, n: int, kind: str, makes: tuple, models: tuple) -> dict:
        rng = self.rng
        year = self.received.year - rng.randrange(0, 15) + 1
        if n == 1:
            # The main unit is worth about what is borrowed against it.
            wholesale = max(500, round(self._requested() * rng.uniform(0.75, 1.3), -2))
        else:
            wholesale = rng.randrange(5, 300) * 100
        p = f"coll{n}_"
        slot = {
            p + "type": kind,
            p + "make": rng.choice(makes),
            p + "model": maybe(rng, rng.choice(models), 0.85),
            p + "year": rng.choice((str(year), str(year), f"MY{year}", f"{year} ")),
            p + "vin": _vin(rng, 17 if kind in ("RV", "MOTORCYCLE", "TOW", "TRAILER") else 12) if rng.random() < 0.85 else "",
            p + "new_used": rng.choice(("N", "U", "U", "")),
            p + "wholesale_value": _money(rng, wholesale) if rng.random() < 0.9 else rng.choice(("", "0")),
            p + "retail_value": _money(rng, wholesale * rng.uniform(1.05, 1.3)) if rng.random() < 0.7 else "",
            p + "option_value": rng.choice(("0", "0", "0.00", _money(rng, rng.randrange(1, 80) * 50))),
        }
        if n <= 2:
            slot[p + "mileage"] = str(rng.randrange(0, 90000)) if kind in ("RV", "MOTORCYCLE", "TOW") else ""
            slot[p + "engine_hours"] = (rng.choice((str(rng.randrange(0, 2500)), f"{rng.randrange(0, 2500)} hrs"))
                                        if kind in ("BOAT", "PWC", "ENGINE") else "")
            slot[p + "description"] = maybe(rng, f"{kind.title()} with {rng.choice(('cover', 'canopy', 'upgraded electronics', 'tow package', 'extended warranty transfer'))}", 0.4)
        return slot

    def _pricing(self) -> dict:
        rng = self.rng
        buy = rng.uniform(4.5, 13.5)
        rate = buy + rng.choice((0.0, 0.5, 1.0, 1.5, 2.0))
        term = rng.choice((36, 48, 60, 72, 84, 120, 144, 180, 240))
        down = self.application["down_payment"]
        financed = max(1000, self._requested() - (int(down) if down.isdigit() else 0))
        monthly = rate / 1200
        payment = financed * monthly / (1 - (1 + monthly) ** -term)
        first_payment = self.received.date() + timedelta(days=rng.randrange(30, 60))
        return {
            "buy_rate": f"{buy:.3f}",
            "contract_rate": f"{rate:.3f}",
            "apr": f"{rate + rng.uniform(0, 0.4):.4f}",
            "dealer_reserve": _money(rng, financed * (rate - buy) / 100 * 0.7, 0.0),
            "term_months": str(term),
            "amount_financed": _money(rng, financed),
            "payment_amount": f"{payment:.2f}",
            "first_payment_date": first_payment.isoformat() if rng.random() < 0.85 else sloppy_date(rng, first_payment),
            "rate_tier": maybe(rng, str(rng.randrange(1, 8)), 0.9),
            "rate_lock_ind": rng.choice(("Y", "N", "N", "")),
            "promo_code": rng.choice(("", "", "", "PROMO25", "promo-boat", "PRXMO1", "SHOW")),
            "doc_fee": rng.choice(("Up to $399", "$199", "249.00", "0", "", "Fee: $150 flat")),
            "rate_sheet_id": f"RS-{rng.randrange(2023, 2026)}-{rng.randrange(1, 53):02d}",
            "pricing_model": rng.choice(("RL_RISK_V4", "RL_RISK_V5", "CHAMPION", "CHALLENGER_B")),
            "max_advance": maybe(rng, str(financed + rng.randrange(0, 100) * 100), 0.6),
        }

    def _dealer(self) -> dict:
        rng = self.rng
        city, state = rng.choice(CITIES)
        name = f"{rng.choice(_DEALER_WORDS)} {rng.choice(_DEALER_KINDS)}"
        since = self.received.date() - timedelta(days=rng.randrange(200, 9000))
        return {
            "dealer_num": f"{rng.choice(('m', 'R', 'P', 'D'))}-{rng.randrange(1000, 9999)}",
            "dealer_name": name,
            "dealer_city": city,
            "dealer_state": state,
            "dealer_zip": f"{rng.randrange(10000, 99999)}",
            "dealer_phone": f"{rng.randrange(200, 999)}-555-01{rng.randrange(100):02d}",
            "dealer_type": rng.choice(_DEALER_TYPES),
            "salesperson": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            "fi_manager": maybe(rng, f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}", 0.7),
            "dealer_rating": maybe(rng, str(rng.randrange(1, 6)), 0.8),
            "participation_pct": rng.choice(("70.000", "75", "80.5", "100", "")),
            "flat_fee": rng.choice(("", "0", "150", "250.00", "$300")),
            "dealer_since": since.isoformat(),
            "active_ind": rng.choice(("Y", "Y", "Y", "N")),
            "dealer_email": f"FINANCE@{name.split()[0].upper()}-DEALER.EXAMPLE.COM" if rng.random() < 0.7 else "",
        }

    def _policies(self) -> dict:
        rng = self.rng
        attrs: dict = {}
        for prefix, share in _WARRANTY_SHARE.items():
            if rng.random() < share:
                amount = rng.randrange(2, 60) * 50
                attrs[f"{prefix}_company"] = rng.choice(_WARRANTY_COMPANIES[prefix])
                attrs[f"{prefix}_amount"] = _money(rng, amount)
                attrs[f"{prefix}_term"] = rng.choice(("12", "24", "36", "48", "60", "84", "120", "60 months"))
                attrs[f"{prefix}_lien"] = rng.choice(("Y", "N", ""))
                if prefix in ("gap", "svc", "tw"):
                    attrs[f"{prefix}_policy_num"] = f"{prefix.upper()}-{rng.randrange(10**6, 10**7)}"
                if prefix in ("gap", "svc"):
                    attrs[f"{prefix}_cost"] = _money(rng, amount * rng.uniform(0.3, 0.6), 0.0)
                    attrs[f"{prefix}_eff_date"] = rng.choice((
                        self.received.date().isoformat(), sloppy_date(rng, self.received.date()), "", "TBD"))
            elif rng.random() < 0.35:
                # Not sold: the source still writes the attributes, empty or zero.
                attrs[f"{prefix}_company"] = ""
                attrs[f"{prefix}_amount"] = rng.choice(("0", "0.00", ""))
                attrs[f"{prefix}_lien"] = rng.choice(("N", ""))
        return attrs

    def _decision(self) -> dict:
        rng = self.rng
        code = self.application["decision_code"]
        decided = self.received + timedelta(hours=rng.randrange(0, 120), minutes=rng.randrange(60))
        approved = code in ("APPRV", "COND", "CNTR")
        requested = self._requested()
        attrs = {
            "decision_date": provenir_datetime(decided) if code else "",
            "decision_code": code,
            "underwriter_code": rng.choice(_UNDERWRITERS),
            "approved_amount": str(requested - rng.randrange(0, 20) * 100) if approved else "",
            "approved_term": self.application["requested_term"] if approved else "",
            "approved_rate": f"{rng.uniform(4.5, 15.5):.3f}" if approved else "",
            "counter_offer_ind": "Y" if code == "CNTR" else rng.choice(("N", "")),
            "conditions_count": str(rng.randrange(0, 6)) if approved else "0",
            "decline_reason_1": rng.choice(("DTI", "CREDIT", "COLLATERAL", "INCOME")) if code == "DECLN" else "",
            "decline_reason_2": rng.choice(("TIME_AT_JOB", "INQUIRIES", "")) if code == "DECLN" else "",
            "decline_reason_3": rng.choice(("LTV", "")) if code == "DECLN" and rng.random() < 0.3 else "",
            "auto_decision": rng.choice(("true", "false", "false", "")),
            "risk_grade": rng.choice(("a", "A", "B", "c", "D", "E", "")),
            "review_level": maybe(rng, str(rng.randrange(1, 4)), 0.8),
            "decision_notes": maybe(rng, " ".join(rng.choice(NOTE_PHRASES) for _ in range(rng.randrange(1, 5))), 0.45),
            "second_look_ind": rng.choice(("N", "N", "Y", "")),
            "final_approver": rng.choice(_FINAL_APPROVERS),
        }
        for name in _EXCEPTION_CODES:
            attrs[name] = rng.choice(("", "", "", "NONE", "null"))
        if rng.random() < 0.3:
            for name in rng.sample(sorted(_EXCEPTION_CODES), rng.randrange(1, 3)):
                code_text = rng.choice(_EXCEPTION_CODES[name])
                attrs[name] = code_text if rng.random() < 0.9 else f" {code_text} "
            attrs["override_notes"] = rng.choice(_EXCEPTION_NOTES) if rng.random() < 0.8 else ""
        else:
            attrs["override_notes"] = rng.choice(("", "", "No exception needed."))
        return attrs

    def _funding(self) -> dict:
        rng = self.rng
        contract = self.received + timedelta(days=rng.randrange(1, 20), hours=rng.randrange(9, 18))
        funded = contract + timedelta(days=rng.randrange(1, 45))
        amount = self._requested() + rng.randrange(0, 30) * 50
        return {
            "contract_date": rng.choice((provenir_datetime(contract), f"{contract:%m/%d/%Y}",
                                         contract.date().isoformat(), f"exp {contract:%m/%d/%Y}")),
            "funded_date": maybe(rng, provenir_datetime(funded), 0.85),
            "funded_amount": _money(rng, amount),
            "loan_term": rng.choice((self.application["requested_term"],) * 4 + ("60 months",)),
            "title_received": rng.choice(("Y", "N", "")),
            "insurance_verified": rng.choice(("Y", "Y", "N", "")),
            "poi_received": rng.choice(("true", "false", "")),
            "stips_cleared": rng.choice(("true", "true", "false")),
            "funding_method": rng.choice(_FUNDING_METHODS),
            "check_number": maybe(rng, f"CK {rng.randrange(100000, 999999)}", 0.3),
            "funder_code": rng.choice(_OFFICERS),
            "ach_routing": maybe(rng, f"0{rng.randrange(10**7, 10**8)}", 0.6),
            "funding_notes": maybe(rng, rng.choice(NOTE_PHRASES), 0.3),
            "holdback_amount": rng.choice(("", "0", "0.00", "500", "1,000.00")),
            "batch_id": f"FB-{rng.randrange(10**8, 10**9)}",
            "funding_status": rng.choice(("FUNDED", "FUNDED", "PENDING", "SUSPENDED", "")),
        }

    def _scores(self) -> dict:
        rng = self.rng
        return {
            **self._score_attrs(_SCORES),
            "income_model": rng.choice(("", str(rng.randrange(20, 300) * 1000), "org.mozilla.javascript.Undefined@3c1e8c5a")),
        }

    def _flags(self) -> dict:
        return self._flag_attrs(("ofac_hit", "fraud_alert", "id_verified", "bankruptcy_flag", "repo_history",
                                 "first_time_buyer", "dealer_watchlist", "mla_covered", "collateral_title_issue"))

    def _credit_summary(self) -> dict:
        rng = self.rng
        return {
            "bureau": rng.choice(("EXP", "EQF", "TRU")),
            "inquiries_6m": str(rng.randrange(0, 9)),
            "tradelines": str(rng.randrange(0, 40)),
            "installment_trades": str(rng.randrange(0, 12)),
            "delinquencies_24m": str(rng.randrange(0, 4)),
            "oldest_trade_months": str(rng.randrange(0, 400)),
            "prior_rv_loan": rng.choice(("Y", "N", "N", "")),
        }

    def _valuation(self) -> dict:
        rng = self.rng
        return {
            "guide_source": rng.choice(("GUIDE_A", "GUIDE_B", "DEALER_INVOICE")),
            "guide_edition": f"{rng.randrange(2023, 2026)}-Q{rng.randrange(1, 5)}",
            "base_value": str(rng.randrange(40, 1500) * 100),
            "condition_grade": rng.choice(("EXCELLENT", "GOOD", "FAIR", "ROUGH", "")),
        }

    def _legacy(self) -> dict:
        rng = self.rng
        return {
            "legacy_app_id": maybe(rng, f"LRL{rng.randrange(10**6, 10**7)}", 0.6),
            "legacy_program": rng.choice(("MARINE_PLUS", "RV_SELECT", "null", "")),
            "legacy_dealer": rng.choice(("D-0192", "none", None)),
            "legacy_status": rng.choice(("BOOKED", "PAID", "null", "NONE", None)),
            "legacy_rate": rng.choice(("7.25", "", None)),
        }

    def _stipulations(self) -> list[dict]:
        rng = self.rng
        count = rng.randrange(0, 6)
        return [{"code": code, "status": rng.choice(("OPEN", "CLEARED", "WAIVED")),
                 "requested": provenir_datetime(self.received + timedelta(hours=rng.randrange(1, 300)))}
                for code in rng.sample(_STIPULATIONS, count)]

    NOTES = NoteStyle(tag="IL_note", longest_gap=2000, authors=("uw0142", "fund07", "dlr_portal", "system"),
                      categories=("CALL", "DOC", "UW", "FUND"), phrases=NOTE_PHRASES)

    def _note_count(self) -> int:
        rng = self.rng
        # Dealer-originated loans are worked a lot (calls, stips, funding
        # review): the notes are what brings the business part to ~12 KB.
        if not self.worked:
            return rng.randrange(1, 6)
        if rng.random() < 0.6:
            return rng.randrange(10, 26)
        if rng.random() < 0.95:
            return rng.randrange(24, 52)
        return rng.randrange(70, 120)

    def report_target(self) -> int:
        rng = self.rng
        # RL applications carry fewer and smaller bureau pulls than credit-card
        # ones: ~75 KB of reports on average (the report loop overshoots its
        # target by about half a report), with a rare ~1 MB one.
        if rng.random() < 0.003:
            return rng.randrange(800_000, 1_100_000)
        return int(rng.triangular(10_000, 140_000, 30_000))

    # -- rendering ---------------------------------------------------------

    def render_business(self) -> str:
        """The <IL_application> element with everything the contract reads."""
        indent = "      "
        inner = indent + "  "
        children = []
        for contact in self.contacts:
            grand = [xml_element("IL_contact_address", a, inner + "  ") for a in contact["addresses"]]
            grand += [xml_element("IL_contact_employment", e, inner + "  ") for e in contact["employments"]]
            children.append(xml_element("IL_contact", contact["attrs"], inner, grand))
        children.append(xml_element("IL_collateral", self.collateral, inner))
        children.append(xml_element("IL_pricing", self.pricing, inner))
        if self.dealer is not None:
            children.append(xml_element("IL_dealer", self.dealer, inner))
        children.append(xml_element("IL_backend_policies", self.policies, inner))
        children.append(xml_element("IL_app_decision_info", self.decision, inner))
        if self.funding is not None:
            children.append(xml_element("IL_fund_checklist", self.funding, inner))
        children.append(xml_element("IL_scores", self.scores, inner))
        children.append(xml_element("IL_flags", self.flags, inner))
        children.append(xml_element("IL_credit_summary", self.credit_summary, inner))
        if self.valuation is not None:
            children.append(xml_element("IL_valuation", self.valuation, inner))
        if self.legacy is not None:
            children.append(xml_element("IL_legacy", self.legacy, inner))
        stips = [xml_element("IL_stipulation", s, inner + "  ") for s in self.stipulations]
        children.append(xml_element("IL_stipulations", {}, inner, stips))
        children.append(f"{inner}<IL_app_notes>\n" + "\n".join(self.notes) + f"\n{inner}</IL_app_notes>")
        return xml_element("IL_application", self.application, indent, children)

    def break_markup(self, business: str) -> str:
        return broken_markup(self.rng, business, "IL_application", "lender_num", "IL_pricing")

    # -- edge cases: what the shared edits do to the RL parts ----------------

    TWIN_ROLES = ("SEC", "PR", "sec")
    INVALID_ROLES = ("GUAR", "COAPP", "", "P R", "SECX")

    def overlong_business(self, filler: str, contact: dict) -> None:
        self.collateral["coll1_make"] = "Custom build: " + filler
        self.collateral["coll1_description"] = filler * 3
        self.application["intake_notes"] = filler * 4
        self.decision["override_notes"] = filler
        if self.dealer is not None:
            self.dealer["dealer_name"] = filler

    def sloppy_business_dates(self) -> list[tuple[dict, str, date]]:
        moments = []
        if self.decision["decision_date"]:
            moments.append((self.decision, "decision_date", self.received + timedelta(days=1, hours=2)))
        if self.funding is not None:
            moments.append((self.funding, "contract_date", self.received + timedelta(days=5)))
        return moments

    def comma_business_amounts(self) -> None:
        rng = self.rng
        for n in range(1, self.slots + 1):
            self.collateral[f"coll{n}_wholesale_value"] = f"${rng.randrange(10, 400) * 1000:,}"
        self.application["requested_amount"] = with_comma(rng.randrange(20, 400) * 1000)
        self.pricing["amount_financed"] = with_comma(rng.randrange(20, 400) * 1000)
        if self.funding is not None:
            self.funding["funded_amount"] = f"${rng.randrange(20, 400) * 1000:,}.00"
