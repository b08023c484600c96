"""The contract model: the immutable values a validated contract is made of.

``validator.py`` builds them from decoded JSON (every problem at once);
``loader.py`` reads the file. Nothing here reads a document.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xmlshred.contract.expressions import Expression
from xmlshred.vocab.errors import TerminalError
from xmlshred.vocab.names import PROCESSING_LOG
from xmlshred.vocab.schema import Column

__all__ = [
    "ContractError",
    "ContractReport",
    "Contract",
    "Mapping",
    "Step",
    "FilterRule",
    "Relationship",
    "TableOptions",
    "VALUE_STEPS",
    "SELECTOR_STEPS",
    "ROW_STEPS",
    "KEY_VALUE_STEPS",
    "GROUP_STEPS",
    "GROUP_KEY_COLUMNS",
    "POLICY_EXCEPTIONS",
    "POLICY_KEY_COLUMN",
    "PROCESSING_LOG",
]


DEFAULT_DECIMAL_PLACES = 2
"""Decimal places of a ``decimal`` mapping without ``data_length``."""


VALUE_STEPS = frozenset({
    "enum", "char_to_bit", "boolean_to_bit", "numbers_only", "extract_numeric",
    "calculated_field", "default_getutcdate_if_null", "extract_date", "identity_insert",
})
SELECTOR_STEPS = frozenset({
    "last_valid_pr_contact", "last_valid_sec_contact", "authu_contact", "curr_address_only",
})
KEY_VALUE_STEPS = frozenset({"add_score", "add_indicator", "add_history", "add_report_lookup"})
"""Row-creating steps that write one key/value row per mapping."""
POLICY_EXCEPTIONS = "policy_exceptions"
"""RL: ``policy_exceptions(N)`` writes an exception row; ``policy_exceptions()`` is its notes."""
GROUP_STEPS = frozenset({"warranty_field", "add_collateral"})

TOP_LEVEL_KEYS = frozenset({
    "xml_root_element", "xml_application_path", "source_table", "source_column",
    "source_application_table", "target_schema", "table_insertion_order",
    "element_filtering", "mappings", "relationships", "enum_mappings",
    "bit_conversions", "tables", "description",
})
"""The keys a contract's top level may have; any other is unknown (a warning, or an error when
it is a near miss of one of these)."""
MAPPING_KEYS = frozenset({
    "xml_path", "xml_attribute", "target_table", "target_column", "data_type",
    "data_length", "nullable", "required", "default_value",
    "exclude_default_when_record_empty", "mapping_type", "enum_name", "expression",
    "description",
})
RELATIONSHIP_KEYS = frozenset({
    "parent_table", "child_table", "foreign_key_column", "xml_parent_path",
    "xml_child_path", "description",
})
FILTER_RULE_KEYS = frozenset({
    "element_type", "xml_parent_path", "xml_child_path", "required_attributes", "description",
})
TABLE_OPTION_KEYS = frozenset({"primary_key", "on_conflict", "description"})
ON_CONFLICT = ("error", "skip", "update")
"""How a table's key conflicts are handled (``tables.<name>.on_conflict``)."""
"""RL grouping steps: every mapping with the same argument makes at most one row together."""
GROUP_KEY_COLUMNS = {"warranty_field": "warranty_type_enum", "add_collateral": "sort_order"}
"""The column that holds a group's argument, per grouping step."""
POLICY_KEY_COLUMN = "policy_exception_type_enum"
ROW_STEPS = KEY_VALUE_STEPS | GROUP_STEPS | {POLICY_EXCEPTIONS}
"""Every row-creating step (the mapping's ``target_column`` is not a column of a per-record row)."""

STEPS_WITH_ARGUMENT = frozenset({"add_score", "add_indicator", "add_report_lookup"}) | GROUP_STEPS
"""The steps written with an argument in parentheses (``add_score(name)``)."""
ALL_STEPS = VALUE_STEPS | SELECTOR_STEPS | ROW_STEPS
"""Every step name a mapping may use."""


class ContractError(TerminalError):
    """A contract that cannot be used; ``problems`` lists everything wrong."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        """One line per problem: where (file, mapping index, field) and what."""
        super().__init__(self.problems)

    def __str__(self) -> str:
        count = len(self.problems)
        lines = [f"the contract has {count} problem{'s' if count != 1 else ''}:"]
        lines.extend(f"  - {problem}" for problem in self.problems)
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Step:
    """One entry of a mapping's ``mapping_type`` list."""

    name: str
    """The step's name, e.g. ``enum`` or ``add_score``."""
    argument: str | None = None
    """The text between the parentheses (``FICO`` of ``add_score(FICO)``)."""

    def __str__(self) -> str:
        return self.name if self.argument is None else f"{self.name}({self.argument})"


@dataclass(frozen=True, slots=True)
class Mapping:
    """One validated field mapping of the contract."""

    index: int
    """Position in the contract's ``mappings`` list (0-based), for messages."""
    xml_path: tuple[str, ...]
    """Element path segments, e.g. ``("Provenir", "Request")``."""
    xml_attribute: str | None
    """Attribute name as written, or None to read the element's text."""
    target_table: str
    target_column: str
    """Empty for the row-creating steps."""
    data_type: str
    data_length: int | None
    nullable: bool
    required: bool
    default_value: str | None
    """The default as text (None when there is none)."""
    exclude_default_when_record_empty: bool
    steps: tuple[Step, ...]
    """Value steps, in order (selectors and row steps included, as written)."""
    enum_name: str | None
    """The resolved enum (only when an ``enum`` step is present)."""
    expression: Expression | None = field(default=None, compare=False)
    """The parsed ``calculated_field`` expression."""

    @property
    def path_text(self) -> str:
        return "/" + "/".join(self.xml_path)

    def has_step(self, name: str) -> bool:
        return any(step.name == name for step in self.steps)

    @property
    def selector(self) -> str | None:
        for step in self.steps:
            if step.name in SELECTOR_STEPS:
                return step.name
        return None

    @property
    def row_step(self) -> Step | None:
        for step in self.steps:
            if step.name in ROW_STEPS:
                return step
        return None

    def column(self) -> Column:
        """The target column this mapping describes (row steps: the value column)."""
        return Column(
            name=self.target_column or "value",
            data_type=self.data_type,
            data_length=self.data_length,
            nullable=self.nullable,
            identity=self.has_step("identity_insert"),
        )


@dataclass(frozen=True, slots=True)
class FilterRule:
    """Which instances of a repeating element are valid."""

    xml_child_path: tuple[str, ...]
    xml_parent_path: tuple[str, ...] | None
    required: tuple[tuple[str, tuple[str, ...] | None], ...]
    """(attribute, allowed values) pairs; None means "must be non-empty"."""
    element_type: str | None = None


@dataclass(frozen=True, slots=True)
class Relationship:
    """A parent/child pair of tables and the key that links them."""

    parent_table: str
    child_table: str
    foreign_key_column: str
    xml_parent_path: tuple[str, ...]
    xml_child_path: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TableOptions:
    """The optional ``tables`` section entry of one table."""

    primary_key: tuple[str, ...] = ()
    on_conflict: str = "error"


@dataclass(frozen=True, slots=True)
class Contract:
    """A loaded, validated contract; compile it with ``compile_contract``."""

    path: str
    """Where it was read from (``<dict>`` when built from a dict)."""
    xml_root_element: str
    xml_application_path: tuple[str, ...]
    source_table: str | None
    source_column: str | None
    source_application_table: str | None
    target_schema: str | None
    table_insertion_order: tuple[str, ...]
    """As written, minus ``processing_log``."""
    filter_rules: tuple[FilterRule, ...]
    mappings: tuple[Mapping, ...]
    """Every mapping, in contract order."""
    relationships: tuple[Relationship, ...]
    enum_mappings: dict[str, dict[str, int | str]] = field(compare=False)
    char_to_bit: dict[str, int] = field(compare=False)
    boolean_to_bit: dict[str, int] = field(compare=False)
    tables: dict[str, TableOptions] = field(compare=False)
    warnings: tuple[str, ...] = ()
    """Things that did not stop loading (unknown keys, skipped mappings ...)."""

    @property
    def root_table(self) -> str:
        return self.table_insertion_order[0]

    @property
    def key_mapping(self) -> Mapping:
        """The root table's ``identity_insert`` mapping: the record key."""
        for mapping in self.mappings:
            if mapping.target_table == self.root_table and mapping.has_step("identity_insert"):
                return mapping
        raise LookupError("the contract has no record key mapping")  # excluded by validation

    first_instance_warnings: tuple[str, ...] = ()
    """The warnings (also in ``warnings``) about per-record mappings inside a
    repeating element without a selector: each reads the first valid instance."""

    @property
    def repeating_paths(self) -> frozenset[tuple[str, ...]]:
        """The repeating elements: exactly the element_filtering child paths."""
        return frozenset(rule.xml_child_path for rule in self.filter_rules)

    def is_repeating(self, relationship: Relationship) -> bool:
        """True when the child table gets one row per valid instance of its element."""
        return relationship.xml_child_path in self.repeating_paths


@dataclass(frozen=True, slots=True)
class ContractReport:
    """What ``check_contract`` found."""

    problems: tuple[str, ...]
    """Errors: the contract cannot be used while there is one."""
    warnings: tuple[str, ...]
    contract: Contract | None
    """The contract when there are no problems, else None."""

    @property
    def ok(self) -> bool:
        return not self.problems
