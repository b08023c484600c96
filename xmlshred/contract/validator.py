"""Validate a decoded contract, collecting every problem before reporting.

Whoever fixes a contract sees the whole list in one go: file, mapping index,
field and what is wrong, with a did-you-mean hint where a name looks misspelt
(a near miss of a known key is an error: ignoring it would change the data).
``ContractReport`` carries the problems, the warnings and, when there is no
problem, the ``Contract`` (``model.py``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Any

from xmlshred.contract.expression_source import generated_for
from xmlshred.contract.expressions import Expression, ExpressionError, parse_expression
from xmlshred.contract.model import (
    ALL_STEPS,
    DEFAULT_DECIMAL_PLACES,
    FILTER_RULE_KEYS,
    GROUP_KEY_COLUMNS,
    GROUP_STEPS,
    MAPPING_KEYS,
    ON_CONFLICT,
    POLICY_EXCEPTIONS,
    POLICY_KEY_COLUMN,
    RELATIONSHIP_KEYS,
    ROW_STEPS,
    SELECTOR_STEPS,
    STEPS_WITH_ARGUMENT,
    TABLE_OPTION_KEYS,
    TOP_LEVEL_KEYS,
    Contract,
    ContractReport,
    FilterRule,
    Mapping,
    Relationship,
    Step,
    TableOptions,
)
from xmlshred.contract.values import ValueRangeError, convert_value
from xmlshred.vocab.names import ENGINE_TABLES, PROCESSING_LOG, is_identifier
from xmlshred.vocab.schema import DATA_TYPES, Column

__all__ = ["validate"]


_STEP_SYNTAX = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\(\s*([^()]*?)\s*\))?\s*")
_XML_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_NO_MATCH = re.match(r"()", "")


def validate(data: Any, label: str, strict: bool = False) -> ContractReport:
    """Validate a decoded contract (``label`` names it in every message); with ``strict``,
    every warning is a problem too."""
    return _Validator(data, label, strict).run()


def _hint(word: str, choices) -> str:
    """`` (did you mean 'x'?)`` or '' when nothing is close."""
    choices = sorted(choices)
    lowered = {choice.lower(): choice for choice in choices}
    if word.lower() in lowered:
        return f" (did you mean {lowered[word.lower()]!r}?)"
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not close:
        close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
        close = [lowered[c] for c in close]
    return f" (did you mean {close[0]!r}?)" if close else ""


_INFORMATIONAL_KEYS = frozenset({"description", "required"})
"""Keys that change no data: a near miss of one stays a warning."""
_TYPO_DISTANCE = 2
"""An unknown key this close to a known one (edits, case ignored) is taken for a misspelling."""
_SHORTEST_TYPO = 5
"""Shorter unknown keys are never taken for misspellings (two edits change most of them)."""


def _edit_distance(first: str, second: str, limit: int) -> int:
    """The optimal string alignment distance (insert, delete, replace, swap two neighbours)
    between two texts, or ``limit + 1`` once it is certainly more than ``limit``."""
    if abs(len(first) - len(second)) > limit:
        return limit + 1
    before: list[int] = []
    previous = list(range(len(second) + 1))
    for i, a in enumerate(first, 1):
        current = [i] + [0] * len(second)
        for j, b in enumerate(second, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b))
            if i > 1 and j > 1 and a == second[j - 2] and first[i - 2] == b:
                current[j] = min(current[j], before[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        before, previous = previous, current
    return previous[-1]


def _misspelt(key: str, known) -> str | None:
    """The known key that ``key`` misspells (within ``_TYPO_DISTANCE`` edits, case ignored),
    or None. Informational keys and short keys are never taken for one."""
    if len(key) < _SHORTEST_TYPO:
        return None
    lowered = key.lower()
    best, distance = None, _TYPO_DISTANCE + 1
    for choice in sorted(known):
        found = _edit_distance(lowered, choice.lower(), _TYPO_DISTANCE)
        if found < distance:
            best, distance = choice, found
    return None if best is None or best in _INFORMATIONAL_KEYS else best


def _parse_path(text: Any) -> tuple[str, ...] | None:
    """Path segments of an absolute element path, or None when malformed."""
    if not isinstance(text, str) or not text.startswith("/"):
        return None
    segments = tuple(text.strip().rstrip("/").split("/")[1:])
    if not segments or not all(_XML_NAME.fullmatch(s) for s in segments):
        return None
    return segments


def _is_prefix(prefix: tuple[str, ...], path: tuple[str, ...]) -> bool:
    return len(prefix) <= len(path) and path[: len(prefix)] == prefix


class _Validator:
    """Walks the decoded JSON once, collecting problems and warnings."""

    def __init__(self, data: Any, label: str, strict: bool = False) -> None:
        self.data = data
        self.label = label
        self.strict = strict
        """Every warning is an error too (``[contract] strict``, ``validate-contract --strict``)."""
        self.problems: list[str] = []
        self.bad_step_tables: set = set()
        """Tables of mappings dropped for an unreadable mapping_type: cross-checks on them would only echo it."""
        self.warnings: list[str] = []
        self.first_instance: list[str] = []

    def problem(self, where: str, what: str) -> None:
        self.problems.append(f"{self.label}: {where}: {what}")

    def warn(self, where: str, what: str) -> None:
        self.warnings.append(f"{self.label}: {where}: {what}")

    def objects(self, value: Any, where: str, known: frozenset[str]) -> Iterator[tuple[str, dict]]:
        """Each object of the list at ``where``, with its place (``where[index]``), its unknown keys
        reported; a value that is no list, or an item that is no object, is a problem."""
        if not isinstance(value, list):
            self.problem(where, "must be a list")
            return
        for index, raw in enumerate(value):
            place = f"{where}[{index}]"
            if not isinstance(raw, dict):
                self.problem(place, "must be an object")
                continue
            self.unknown_keys(raw, known, place)
            yield place, raw

    def unknown_keys(self, obj: dict, known: frozenset[str], where: str) -> None:
        """Unknown keys are warnings (contracts carry comments), except a near miss of a key
        that changes data: ignoring ``xml_atribute`` would change every record's value."""
        for key in obj:
            if key in known:
                continue
            meant = _misspelt(str(key), known)
            if meant is not None:
                self.problem(where, f"unknown key {key!r} (did you mean {meant!r}?): a misspelt key "
                                    "would be ignored and change the data")
            else:
                self.warn(where, f"unknown key {key!r} is ignored{_hint(str(key), known)}")

    def identifier(self, value: Any, where: str, what: str, optional: bool = False) -> str | None:
        if value is None or value == "":
            if not optional:
                self.problem(where, f"{what} is missing")
            return None
        if not is_identifier(value):
            self.problem(
                where,
                f"{what} {value!r} is not a valid identifier "
                "(letters, digits and _ only, not starting with a digit)",
            )
            return None
        return value

    def path(self, value: Any, where: str, what: str) -> tuple[str, ...] | None:
        if value is None or value == "":
            self.problem(where, f"{what} is missing")
            return None
        segments = _parse_path(value)
        if segments is None:
            self.problem(
                where,
                f"{what} {value!r} is not an absolute element path such as /Root/Child "
                "(no predicates, no attributes)",
            )
        return segments

    # -- the whole contract --

    def failed(self) -> ContractReport:
        """The report of a contract that cannot be used (under ``strict``, its warnings are
        listed among the problems)."""
        problems = list(self.problems)
        if self.strict:
            problems.extend(f"{warning} (an error under strict)" for warning in self.warnings)
        return ContractReport(tuple(problems), tuple(self.warnings), None)

    def run(self) -> ContractReport:
        data = self.data
        if not isinstance(data, dict):
            self.problem("top level", "the contract must be a JSON object")
            return self.failed()
        self.unknown_keys(data, TOP_LEVEL_KEYS, "top level")

        root_element = data.get("xml_root_element")
        if not isinstance(root_element, str) or not _XML_NAME.fullmatch(root_element):
            self.problem("xml_root_element", "must be the name of the document element")
            root_element = None
        app_path = self.path(data.get("xml_application_path"), "xml_application_path", "the path")
        if app_path and root_element and app_path[0] != root_element:
            self.problem("xml_application_path", f"must start at the root element /{root_element}")

        source_table = self.source_table(data.get("source_table"))
        source_column = self.identifier(data.get("source_column"), "source_column", "source_column", True)
        source_app_table = data.get("source_application_table")
        if source_app_table is not None and not isinstance(source_app_table, str):
            self.problem("source_application_table", "must be text")
            source_app_table = None
        target_schema = self.identifier(data.get("target_schema"), "target_schema", "target_schema", True)

        order = self.insertion_order(data.get("table_insertion_order"))
        enums = self.enums(data.get("enum_mappings"))
        char_to_bit, boolean_to_bit = self.bit_conversions(data.get("bit_conversions"))
        rules = self.filter_rules(data.get("element_filtering"))
        relationships = self.relationships(data.get("relationships"))
        mappings = self.mappings(data.get("mappings"), enums)
        tables = self.table_options(data.get("tables"))

        if root_element:
            self.check_roots(root_element, mappings, relationships, rules)
        if order:
            self.cross_checks(order, mappings, relationships, rules, tables)
        self.check_constant_fallbacks(mappings)
        if self.problems or (self.strict and self.warnings):
            return self.failed()
        contract = Contract(
            path=self.label,
            xml_root_element=root_element,
            xml_application_path=app_path,
            source_table=source_table,
            source_column=source_column,
            source_application_table=source_app_table,
            target_schema=target_schema,
            table_insertion_order=tuple(order),
            filter_rules=tuple(rules),
            mappings=tuple(mappings),
            relationships=tuple(relationships),
            enum_mappings=enums,
            char_to_bit=char_to_bit,
            boolean_to_bit=boolean_to_bit,
            tables=tables,
            warnings=tuple(self.warnings),
            first_instance_warnings=tuple(self.first_instance),
        )
        return ContractReport((), tuple(self.warnings), contract)

    def source_table(self, value: Any) -> str | None:
        if value is None or value == "":
            return None
        # A schema-qualified name is common for table sources; each part is checked.
        if not isinstance(value, str) or not all(is_identifier(p) for p in value.split(".")) \
                or value.count(".") > 1:
            self.problem("source_table", f"{value!r} is not a valid table name (schema.table allowed)")
            return None
        return value

    def insertion_order(self, value: Any) -> list[str]:
        if not isinstance(value, list) or not value:
            self.problem("table_insertion_order", "must be a non-empty list of table names "
                         "(the first one is the root table)")
            return []
        order: list[str] = []
        for position, name in enumerate(value):
            if name == PROCESSING_LOG:
                continue
            checked = self.identifier(name, f"table_insertion_order[{position}]", "table name")
            if checked is None:
                continue
            if checked in order:
                self.warn(f"table_insertion_order[{position}]", f"table {checked!r} is listed twice")
                continue
            order.append(checked)
        if not order:
            self.problem("table_insertion_order", "lists no table besides processing_log")
        return order

    def enums(self, value: Any) -> dict[str, dict[str, int | str]]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem("enum_mappings", "must be an object of {enum_name: {code: value}}")
            return {}
        enums: dict[str, dict[str, int | str]] = {}
        for name, table in value.items():
            where = f"enum_mappings.{name}"
            if not isinstance(table, dict):
                self.problem(where, "must be an object of {code: integer or text}")
                continue
            entries: dict[str, int | str] = {}
            for code, number in table.items():
                if isinstance(number, bool) or not isinstance(number, (int, str)):
                    self.problem(where, f"code {code!r} must map to an integer or a text")
                    continue
                entries[code] = number
            enums[name] = entries
        return enums

    def check_enum_values(self, name: str, table: dict[str, int | str], data_type: str,
                          length: int | None, column: str, where: str) -> None:
        """Every value of the enum must convert to the mapping's data_type."""
        target = Column(column, data_type, length)
        for code, value in table.items():
            text = str(value).strip()
            if not text:
                continue
            try:
                converted, _ = convert_value(text, target)
            except ValueRangeError as error:
                self.problem(where, f"enum_mappings.{name} code {code!r}: the value does not fit "
                                    f"data_type {data_type}: {error.rule}")
                continue
            if converted is None:
                self.problem(where, f"enum_mappings.{name} code {code!r}: the value does not "
                                    f"convert to data_type {data_type}")

    def bit_conversions(self, value: Any) -> tuple[dict[str, int], dict[str, int]]:
        if value is None:
            return {}, {}
        if not isinstance(value, dict):
            self.problem("bit_conversions", "must be an object with char_to_bit and boolean_to_bit")
            return {}, {}
        self.unknown_keys(value, frozenset({"char_to_bit", "boolean_to_bit", "description"}),
                          "bit_conversions")
        tables = []
        for name in ("char_to_bit", "boolean_to_bit"):
            table = value.get(name, {})
            entries: dict[str, int] = {}
            if not isinstance(table, dict):
                self.problem(f"bit_conversions.{name}", "must be an object of {text: 0 or 1}")
            else:
                for code, bit in table.items():
                    if bit not in (0, 1):
                        self.problem(f"bit_conversions.{name}", f"code {code!r} must map to 0 or 1")
                        continue
                    entries[code] = int(bit)
            tables.append(entries)
        return tables[0], tables[1]

    def filter_rules(self, value: Any) -> list[FilterRule]:
        if value is None:
            return []
        if not isinstance(value, dict):
            self.problem("element_filtering", "must be an object with filter_rules")
            return []
        self.unknown_keys(value, frozenset({"filter_rules", "description"}), "element_filtering")
        rules: list[FilterRule] = []
        for where, raw in self.objects(value.get("filter_rules", []), "element_filtering.filter_rules",
                                       FILTER_RULE_KEYS):
            child = self.path(raw.get("xml_child_path"), where, "xml_child_path")
            parent = None
            if raw.get("xml_parent_path") is not None:
                parent = self.path(raw.get("xml_parent_path"), where, "xml_parent_path")
            attributes = raw.get("required_attributes", {})
            required: list[tuple[str, tuple[str, ...] | None]] = []
            if not isinstance(attributes, dict):
                self.problem(where, "required_attributes must be an object {attribute: true | [values]}")
                attributes = {}
            for attribute, rule in attributes.items():
                if rule is True:
                    required.append((attribute, None))
                elif isinstance(rule, list) and rule and all(isinstance(v, str) for v in rule):
                    required.append((attribute, tuple(rule)))
                elif rule is False:
                    continue
                else:
                    self.problem(where, f"required_attributes.{attribute} must be true or a "
                                        "non-empty list of values")
            if child is not None:
                if any(r.xml_child_path == child for r in rules):
                    self.problem(where, "another rule already filters this xml_child_path")
                rules.append(FilterRule(child, parent, tuple(required), raw.get("element_type")))
        return rules

    def relationships(self, value: Any) -> list[Relationship]:
        if value is None:
            return []
        found: list[Relationship] = []
        for where, raw in self.objects(value, "relationships", RELATIONSHIP_KEYS):
            parent = self.identifier(raw.get("parent_table"), where, "parent_table")
            child = self.identifier(raw.get("child_table"), where, "child_table")
            key = self.identifier(raw.get("foreign_key_column"), where, "foreign_key_column")
            parent_path = self.path(raw.get("xml_parent_path"), where, "xml_parent_path")
            child_path = self.path(raw.get("xml_child_path"), where, "xml_child_path")
            if parent_path and child_path and not _is_prefix(parent_path, child_path):
                self.problem(where, "xml_child_path must be xml_parent_path or lie below it")
                continue
            if None in (parent, child, key, parent_path, child_path):
                continue
            if any(r.child_table == child for r in found):
                self.problem(where, f"table {child!r} is already the child_table of another "
                                    "relationship; a table has one parent")
                continue
            found.append(Relationship(parent, child, key, parent_path, child_path))
        return found

    def table_options(self, value: Any) -> dict[str, TableOptions]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem("tables", "must be an object {table: {primary_key, on_conflict}}")
            return {}
        options: dict[str, TableOptions] = {}
        for table, raw in value.items():
            where = f"tables.{table}"
            if self.identifier(table, where, "table name") is None:
                continue
            if not isinstance(raw, dict):
                self.problem(where, "must be an object {primary_key, on_conflict}")
                continue
            self.unknown_keys(raw, TABLE_OPTION_KEYS, where)
            key = raw.get("primary_key", [])
            if isinstance(key, str):
                key = [key]
            if not isinstance(key, list):
                self.problem(where, "primary_key must be a list of column names")
                key = []
            columns = tuple(c for c in key if self.identifier(c, where, "primary_key column"))
            conflict = raw.get("on_conflict", "error")
            if conflict not in ON_CONFLICT:
                self.problem(where, f"on_conflict {conflict!r} must be one of "
                                    f"{', '.join(ON_CONFLICT)}{_hint(str(conflict), ON_CONFLICT)}")
                conflict = "error"
            options[table] = TableOptions(columns, conflict)
        return options

    # -- mappings --

    def mappings(self, value: Any, enums: dict[str, dict[str, int]]) -> list[Mapping]:
        if not isinstance(value, list) or not value:
            self.problem("mappings", "must be a non-empty list of field mappings")
            return []
        found = []
        for index, raw in enumerate(value):
            mapping = self.mapping(index, raw, enums)
            if mapping is not None:
                found.append(mapping)
        return found

    def steps(self, raw: Any, where: str) -> tuple[list[Step], bool]:
        """The parsed steps and whether they were all valid."""
        if raw is None or raw == "" or raw == []:
            return [], True
        if isinstance(raw, str):
            raw = [part for part in re.split(r",(?![^()]*\))", raw) if part.strip()]
        if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
            self.problem(where, "mapping_type must be a list of step names")
            return [], False
        steps: list[Step] = []
        valid = True
        for item in raw:
            match = _STEP_SYNTAX.fullmatch(item)
            if match is None:
                self.problem(where, f"mapping_type entry {item!r} is malformed "
                                    "(expected name or name(ARGUMENT))")
                valid = False
                continue
            name, argument = match.group(1), match.group(2)
            if name not in ALL_STEPS:
                self.problem(where, f"unknown mapping type {name!r}{_hint(name, ALL_STEPS)}")
                valid = False
                continue
            if name == POLICY_EXCEPTIONS:
                if match.group(2) is None:
                    self.problem(where, f"mapping type {name} needs parentheses: {name}(N) for an "
                                        f"exception type, {name}() for the notes")
                    valid = False
                    continue
                steps.append(Step(name, argument))
                continue
            if name in STEPS_WITH_ARGUMENT and not argument:
                self.problem(where, f"mapping type {name} needs an argument: {name}(...)")
                valid = False
                continue
            if name not in STEPS_WITH_ARGUMENT and argument is not None:
                self.problem(where, f"mapping type {name} takes no argument")
                valid = False
                continue
            steps.append(Step(name, argument or None))
        return steps, valid

    def mapping(self, index: int, raw: Any, enums: dict[str, dict[str, int]]) -> Mapping | None:
        where = f"mappings[{index}]"
        if not isinstance(raw, dict):
            self.problem(where, "must be an object")
            return None
        column_name = raw.get("target_column")
        if isinstance(column_name, str) and column_name:
            where = f"mappings[{index}] ({raw.get('target_table')}.{column_name})"
        self.unknown_keys(raw, MAPPING_KEYS, where)
        problems_before = len(self.problems)

        steps, steps_valid = self.steps(raw.get("mapping_type"), where)
        if not steps_valid:
            self.bad_step_tables.add(raw.get("target_table"))
        names = [step.name for step in steps]
        row_steps = [step for step in steps if step.name in ROW_STEPS]

        path = self.path(raw.get("xml_path"), where, "xml_path")
        attribute = self.attribute(raw.get("xml_attribute"), where)
        table = self.identifier(raw.get("target_table"), where, "target_table")
        if table in ENGINE_TABLES:
            self.problem(where, f"target_table {table!r} is the engine's own table; "
                                "map into a table of your own")
        column, row_like = self.target_column(raw, where, row_steps, steps_valid)
        data_type = self.data_type(raw.get("data_type", "string" if row_steps else None), where)
        length = self.data_length(raw.get("data_length"), data_type, where)

        nullable = self.flag(raw, "nullable", True, where)
        required = self.flag(raw, "required", False, where)
        conditional = self.flag(raw, "exclude_default_when_record_empty", False, where)

        if len(row_steps) > 1:
            self.problem(where, "a mapping can have only one row-creating type")
        selectors = [name for name in names if name in SELECTOR_STEPS]
        if len(selectors) > 1:
            self.problem(where, f"a mapping can have only one selector, found {', '.join(selectors)}")

        enum_name = None
        if "enum" in names:
            enum_name = self.enum_name(raw.get("enum_name"), column, enums, nullable and not row_like, where)
            if enum_name is not None and data_type:
                self.check_enum_values(enum_name, enums[enum_name], data_type, length,
                                       column or "value", where)
        elif raw.get("enum_name"):
            self.warn(where, "enum_name is ignored: the mapping has no enum step")

        expression = self.expression(raw.get("expression"), "calculated_field" in names, where)
        default = self.default_value(raw.get("default_value"), data_type, length, column, where)

        if len(self.problems) > problems_before:
            return None
        return Mapping(
            index=index,
            xml_path=path,
            xml_attribute=attribute,
            target_table=table,
            target_column=column or "",
            data_type=data_type,
            data_length=length,
            nullable=nullable,
            required=required,
            default_value=default,
            exclude_default_when_record_empty=conditional,
            steps=tuple(steps),
            enum_name=enum_name,
            expression=expression,
        )

    def attribute(self, attribute: Any, where: str) -> str | None:
        """The attribute name (a leading ``@`` dropped), or None for the element's text."""
        if attribute in ("", None):
            return None
        if not isinstance(attribute, str) or not _XML_NAME.fullmatch(attribute.lstrip("@")):
            self.problem(where, f"xml_attribute {attribute!r} is not an attribute name")
            return None
        return attribute.lstrip("@")

    def target_column(self, raw: dict, where: str, row_steps: list[Step],
                      steps_valid: bool) -> tuple[str | None, bool]:
        """The mapping's column ('' for a row-creating type) and whether it is row-like."""
        # A row-creating step with a bad argument still means "no target_column"
        # (except for the RL groups, whose mappings each fill a column of the group's row).
        written = [(_STEP_SYNTAX.fullmatch(item) or _NO_MATCH).group(1)
                   for item in (raw.get("mapping_type") if isinstance(raw.get("mapping_type"), list)
                                else []) if isinstance(item, str)]
        row_like = bool(row_steps) or any(name in ROW_STEPS for name in written)
        if any(name in GROUP_STEPS for name in written):
            column = self.identifier(raw.get("target_column"), where, "target_column")
            if column in GROUP_KEY_COLUMNS.values():
                self.problem(where, f"target_column {column!r} is the group's own key column")
        elif row_like:
            column = raw.get("target_column") or ""
            if column:
                self.warn(where, "target_column is ignored for a row-creating mapping type")
        elif not steps_valid and not raw.get("target_column"):
            column = ""  # likely a misspelt row-creating type: its problem is already listed
        else:
            column = self.identifier(raw.get("target_column"), where, "target_column")
        return column, row_like

    def data_type(self, data_type: Any, where: str) -> str | None:
        if data_type is None:
            self.problem(where, "data_type is missing")
            return None
        if not isinstance(data_type, str) or data_type.lower() not in DATA_TYPES:
            self.problem(where, f"unknown data_type {data_type!r}{_hint(str(data_type), DATA_TYPES)}")
            return None
        return data_type.lower()

    def data_length(self, length: Any, data_type: str | None, where: str) -> int | None:
        """Places of a decimal, the most characters of a string; None for the other types."""
        if isinstance(length, str) and length.strip().lstrip("-").isdigit():
            length = int(length)
        if length is not None and (isinstance(length, bool) or not isinstance(length, int) or length < -1):
            self.problem(where, f"data_length {length!r} must be a non-negative integer, "
                                "or -1 for no limit")
            length = None
        if length == -1 or data_type not in ("string", "decimal"):
            length = None  # -1 is SQL Server's MAX; integers, dates and bits have no length
        if data_type == "decimal" and length is None:
            length = DEFAULT_DECIMAL_PLACES
        return length

    def enum_name(self, explicit: Any, column: str | None, enums: dict, may_be_null: bool,
                  where: str) -> str | None:
        """The enum of an ``enum`` step: ``enum_name``, else the column's name when it is an
        enum. None (a warning when the column may always be NULL, else a problem) without one."""
        if explicit and explicit in enums:
            return explicit
        if not explicit and column and column in enums:
            return column
        if explicit:
            what = f"enum_name {explicit!r} is not in enum_mappings{_hint(str(explicit), enums)}"
        else:
            what = (f"the enum step has no resolvable enum: set enum_name "
                    f"(target_column {column!r} is not an enum_mappings key"
                    f"{_hint(str(column), enums) if column else ''})")
        if may_be_null:
            self.warn(where, f"{what}; the column is always NULL")
        else:
            self.problem(where, what)
        return None

    def expression(self, text: Any, calculated: bool, where: str) -> Expression | None:
        """The parsed expression of a ``calculated_field`` mapping (else None)."""
        if not calculated:
            if text:
                self.warn(where, "expression is ignored: the mapping has no calculated_field step")
            return None
        if not isinstance(text, str) or not text.strip():
            self.problem(where, "calculated_field needs an expression")
            return None
        try:
            expression = parse_expression(text)
        except ExpressionError as error:
            self.problem(where, f"malformed expression at position {error.position}: {error.message}")
            return None
        try:
            generated_for(expression)  # its code, made now: a failure is the contract's problem
        except (SyntaxError, RecursionError, MemoryError):
            self.problem(where, "the expression is too deeply nested to compile; split it or nest less")
            return None
        return expression

    def default_value(self, default: Any, data_type: str | None, length: int | None,
                      column: str | None, where: str) -> str | None:
        if isinstance(default, bool):
            default = "1" if default else "0"
        elif isinstance(default, (int, float)):
            default = str(default)
        elif default is not None and not isinstance(default, str):
            self.problem(where, "default_value must be text or a number")
            default = None
        if default is not None and data_type:
            default = self.check_default(default, data_type, length, column or "value", where)
        return default

    def flag(self, raw: dict, name: str, default: bool, where: str) -> bool:
        value = raw.get(name, default)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problem(where, f"{name} must be true or false")
            return default
        return value

    def check_default(self, default: str, data_type: str, length: int | None,
                      column: str, where: str) -> str | None:
        text = default.strip()
        if not text:
            if data_type == "string":
                return ""
            self.problem(where, f"default_value is empty, which is no {data_type}")
            return None
        try:
            value, truncated = convert_value(text, Column(column, data_type, length))
        except ValueRangeError as error:
            self.problem(where, f"default_value does not fit data_type {data_type}: {error.rule}")
            return None
        if value is None:
            self.problem(where, f"default_value {default!r} does not convert to data_type {data_type}")
            return None
        if truncated:
            self.warn(where, f"default_value is longer than data_length {length} and will be cut")
        return text

    # -- checks across sections --

    def cross_checks(self, order: list[str], mappings: list[Mapping],
                     relationships: list[Relationship], rules: list[FilterRule],
                     tables: dict[str, TableOptions]) -> None:
        root = order[0]
        child_tables = {r.child_table: r for r in relationships}
        active = mappings
        self.check_row_keys(active)
        row_tables: dict[str, str] = {}
        for mapping in active:
            step = mapping.row_step
            if step is None:
                continue
            previous = row_tables.setdefault(mapping.target_table, step.name)
            if previous != step.name:
                self.problem(f"mappings[{mapping.index}]",
                             f"table {mapping.target_table!r} gets rows from both {previous} and "
                             f"{step.name}; use one row-creating type per table")
        for mapping in active:
            where = f"mappings[{mapping.index}]"
            table = mapping.target_table
            if mapping.row_step is None and table in row_tables:
                self.problem(where, f"table {table!r} is a row-creating ({row_tables[table]}) "
                                    "table; it cannot also have ordinary columns")
            elif table != root and table not in row_tables and table not in child_tables \
                    and table not in self.bad_step_tables:
                known = {root, *child_tables, *row_tables}
                self.problem(where, f"table {table!r} is neither the root table ({root}), nor a "
                                    "row-creating table, nor the child_table of a relationship"
                                    f"{_hint(table, known)}")
        key_mappings = [m for m in active if m.target_table == root and m.has_step("identity_insert")]
        if not key_mappings:
            if root not in self.bad_step_tables:
                self.problem("mappings", f"the root table {root!r} has no identity_insert mapping "
                                         "(the record key)")
        elif len(key_mappings) > 1:
            self.problem("mappings", f"the root table {root!r} has more than one identity_insert mapping")
        elif key_mappings[0].data_type not in ("int", "bigint", "smallint", "tinyint"):
            self.problem(f"mappings[{key_mappings[0].index}]",
                         "the record key must have an integer data_type")
        if root in child_tables:
            self.problem("relationships", f"the root table {root!r} cannot be a child_table")
        for index, relationship in enumerate(relationships):
            where = f"relationships[{index}]"
            if relationship.parent_table != root and relationship.parent_table not in child_tables:
                self.problem(where, f"parent_table {relationship.parent_table!r} is neither the root "
                                    "table nor the child_table of another relationship")
        self.check_cycles(relationships)
        self.check_foreign_keys(active, relationships, key_mappings, root)
        self.check_selectors(active, rules, relationships, root, row_tables)
        for table in tables:
            if table not in {root, *child_tables, *row_tables}:
                self.warn(f"tables.{table}", "no mapping writes to this table; options ignored")

    def check_row_keys(self, mappings: list[Mapping]) -> None:
        """RL rows: no key written twice; a group's columns typed alike across groups."""
        exception_types: dict[tuple[str, str], int] = {}
        group_columns: dict[tuple[str, str, str], int] = {}
        column_shapes: dict[tuple[str, str], tuple[Mapping, tuple]] = {}
        notes: Mapping | None = None
        for mapping in mappings:
            step = mapping.row_step
            where = f"mappings[{mapping.index}]"
            if step is None:
                continue
            if step.name == POLICY_EXCEPTIONS and not step.argument:
                if notes is None:
                    notes = mapping
                else:
                    self.warn(where, f"only the first policy_exceptions() mapping "
                                     f"(mappings[{notes.index}]) gives the notes; this one is unused")
            elif step.name == POLICY_EXCEPTIONS:
                first = exception_types.setdefault((mapping.target_table, step.argument), mapping.index)
                if first != mapping.index:
                    self.problem(where, f"policy_exceptions({step.argument}) is also mappings[{first}]: "
                                        f"both would write the key {POLICY_KEY_COLUMN}="
                                        f"{step.argument} of table {mapping.target_table!r}")
            elif step.name in GROUP_STEPS:
                slot = (mapping.target_table, step.argument, mapping.target_column)
                first = group_columns.setdefault(slot, mapping.index)
                if first != mapping.index:
                    self.problem(where, f"{step} writes column {mapping.target_column!r} of table "
                                        f"{mapping.target_table!r}, as mappings[{first}] does for "
                                        "the same row")
                shape = (mapping.data_type, mapping.data_length, mapping.nullable,
                         mapping.default_value)
                known = column_shapes.setdefault((mapping.target_table, mapping.target_column),
                                                 (mapping, shape))
                if known[1] != shape:
                    self.warn(where, f"column {mapping.target_table}.{mapping.target_column} has "
                                     f"another data_type, data_length, nullable or default_value "
                                     f"than mappings[{known[0].index}]; rows of groups that do not "
                                     "map it take the first mapping's")

    def check_roots(self, root: str, mappings: list[Mapping], relationships: list[Relationship],
                    rules: list[FilterRule]) -> None:
        """Every path must start at the root element, or it could never match."""
        for mapping in mappings:
            if mapping.xml_path[0] != root:
                self.problem(f"mappings[{mapping.index}]", f"xml_path must start at /{root}")
        for index, relationship in enumerate(relationships):
            if relationship.xml_parent_path[0] != root:
                self.problem(f"relationships[{index}]", f"xml paths must start at /{root}")
        for index, rule in enumerate(rules):
            if rule.xml_child_path[0] != root:
                self.problem(f"element_filtering.filter_rules[{index}]",
                             f"xml_child_path must start at /{root}")

    def check_foreign_keys(self, mappings: list[Mapping], relationships: list[Relationship],
                           key_mappings: list[Mapping], root: str) -> None:
        key_column = key_mappings[0].target_column if len(key_mappings) == 1 else None
        columns: dict[str, set[str]] = {}
        for mapping in mappings:
            if mapping.row_step is None:
                columns.setdefault(mapping.target_table, set()).add(mapping.target_column)
        foreign = {r.child_table: r.foreign_key_column for r in relationships}
        for index, relationship in enumerate(relationships):
            where = f"relationships[{index}]"
            key = relationship.foreign_key_column
            parent = relationship.parent_table
            if key != key_column and key not in columns.get(parent, set()) \
                    and foreign.get(parent) != key and parent not in self.bad_step_tables \
                    and not (key_column is None and root in self.bad_step_tables):
                self.problem(where, f"foreign_key_column {key!r} is not a column of the parent "
                                    f"table {parent!r} (nor the record key column)")
        for mapping in mappings:
            if mapping.row_step is None and foreign.get(mapping.target_table) == mapping.target_column:
                self.warn(f"mappings[{mapping.index}]",
                          f"{mapping.target_table}.{mapping.target_column} is the table's "
                          "foreign_key_column: its value comes from the parent, this mapping is ignored")

    def check_constant_fallbacks(self, mappings: list[Mapping]) -> None:
        """Warn about a mapping that, as far as the contract tells, writes the run clock or its
        default_value for every record: it names no attribute, so it reads its element's text,
        and that element is one other mappings read attributes of (such elements carry their
        values in attributes, not as text). A misspelt or forgotten xml_attribute looks so."""
        attributes_read: dict[tuple[str, ...], int] = {}
        for mapping in mappings:
            if mapping.xml_attribute is not None:
                attributes_read.setdefault(mapping.xml_path, mapping.index)
        for mapping in mappings:
            if mapping.xml_attribute is not None or mapping.has_step("calculated_field"):
                continue
            if mapping.has_step("default_getutcdate_if_null"):
                fallback = "the run clock (default_getutcdate_if_null)"
            elif mapping.default_value is not None:
                fallback = "its default_value"
            else:
                continue
            other = attributes_read.get(mapping.xml_path)
            if other is None:
                continue
            column = f" ({mapping.target_table}.{mapping.target_column})" if mapping.target_column else ""
            self.warn(f"mappings[{mapping.index}]{column}",
                      f"names no xml_attribute, so it reads the text of {mapping.path_text}, an "
                      f"element whose attributes other mappings read (mappings[{other}]): unless "
                      f"that element carries text, every record gets {fallback}")

    def check_cycles(self, relationships: list[Relationship]) -> None:
        parents = {r.child_table: r.parent_table for r in relationships}
        for start in parents:
            seen = {start}
            table = parents.get(start)
            while table is not None:
                if table in seen:
                    self.problem("relationships", f"the parent chain of {start!r} loops")
                    return
                seen.add(table)
                table = parents.get(table)

    def check_selectors(self, mappings: list[Mapping], rules: list[FilterRule],
                        relationships: list[Relationship], root: str,
                        row_tables: dict[str, str]) -> None:
        repeating = {rule.xml_child_path for rule in rules}
        row_element = {r.child_table: r.xml_child_path for r in relationships
                       if r.xml_child_path in repeating}
        contact_rule = rules[0] if rules else None
        contact_types = ()
        if contact_rule is not None:
            contact_types = next((values for _, values in contact_rule.required if values), ())
        for mapping in mappings:
            where = f"mappings[{mapping.index}]"
            selector = mapping.selector
            if selector in ("last_valid_pr_contact", "last_valid_sec_contact", "authu_contact"):
                if contact_rule is None:
                    self.problem(where, f"{selector} needs an element_filtering rule for contacts")
                    continue
                if selector == "last_valid_sec_contact" and len(contact_types) < 2:
                    self.problem(where, "last_valid_sec_contact needs a second type in the contact "
                                        "rule's list attribute")
                if not _is_prefix(contact_rule.xml_child_path, mapping.xml_path):
                    self.warn(where, f"{selector} has no effect: xml_path is not inside "
                                     f"{'/' + '/'.join(contact_rule.xml_child_path)}")
            if selector is not None:
                continue
            own = row_element.get(mapping.target_table)
            inside = [p for p in repeating if _is_prefix(p, mapping.xml_path)
                      and not (own is not None and _is_prefix(p, own))]
            if inside and mapping.target_table not in row_element:
                self.warn(where, f"xml_path lies inside the repeating element "
                                 f"{'/' + '/'.join(max(inside, key=len))} but table "
                                 f"{mapping.target_table!r} has one row per record and the mapping "
                                 "has no selector step: it reads the first valid instance")
                self.first_instance.append(self.warnings[-1])
