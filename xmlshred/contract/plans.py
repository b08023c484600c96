"""The compiled plans: what the compiler builds and the mapper runs.

A contract compiles into a tree of element ``Node``s and one ``TablePlan`` per
table, each column a ``ColumnPlan`` whose ``FieldPlan``s say where a value is
read and how it is transformed. Both ``compiler.py`` (which builds them) and
``mapper.py`` (which runs them against a document) import this module; neither
imports the other's internals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from xmlshred.contract.model import POLICY_EXCEPTIONS, Contract, Mapping, Relationship
from xmlshred.vocab.schema import Column, Table, TargetSchema

# Step codes of the value pipeline (small ints: compared once per step per field).
ENUM, CHAR_TO_BIT, BOOLEAN_TO_BIT, NUMBERS_ONLY, EXTRACT_NUMERIC, CALCULATED, \
    UTC_IF_NULL, EXTRACT_DATE = range(8)
STEP_CODES = {
    "enum": ENUM, "char_to_bit": CHAR_TO_BIT, "boolean_to_bit": BOOLEAN_TO_BIT,
    "numbers_only": NUMBERS_ONLY, "extract_numeric": EXTRACT_NUMERIC,
    "calculated_field": CALCULATED, "default_getutcdate_if_null": UTC_IF_NULL,
    "extract_date": EXTRACT_DATE,
}
"""A value step's name -> its step code (``FieldPlan.steps`` holds the codes)."""

# Where a field's element is found, relative to the row being built.
SELF, BELOW, ABOVE, RECORD, CONTACT = range(5)

# Table kinds: the root row, one row per record, one per repeating instance,
# key/value rows (add_score ...), RL policy-exception rows, RL group rows.
ROOT, SINGLE, REPEAT, ROWS, POLICY, GROUPS = range(6)

# The kinds of counted warnings: a value the contract's rules changed on its way in.
TRUNCATED, NOT_A_NUMBER, BAD_DATE, UNMAPPED_CODE, DEFAULTED = \
    "truncated", "not_a_number", "bad_date", "unmapped_code", "defaulted"
WARNING_KINDS = (TRUNCATED, NOT_A_NUMBER, BAD_DATE, UNMAPPED_CODE, DEFAULTED)
"""Every kind a ``MappedRecord.warnings`` label (``"<kind>:<table>.<column>"``) starts with."""

NO_DEFAULT = object()
"""``ColumnPlan.default`` of a column without a ``default_value`` (None is a default)."""
INDICATOR_TRUE = frozenset({"y", "yes", "true", "t", "1"})
"""The words (casefolded) an add_indicator field writes a row for."""
HISTORY_EMPTY = frozenset({"null", "none"})
"""Text (casefolded) that counts as no value for history, policy and group rows."""
INTEGER_TYPES = frozenset({"int", "smallint", "bigint", "tinyint"})
"""The integer data types (scores of these types alone share a bigint column)."""
RECORD_KEY, NO_ANCHOR, FIRST_INSTANCE = -3, -2, -1
"""``TablePlan.parent_anchor`` values other than a number of levels up (``mapper.parent_anchor``)."""
NUMERIC_TYPES = frozenset({"int", "smallint", "bigint", "tinyint", "decimal", "float", "bit", "boolean"})
"""Types whose empty non-nullable group cell is zero (``ZERO``, else 0)."""
ZERO = {"decimal": Decimal(0), "float": 0.0}
"""The zero of the numeric types that is not the int 0."""
MAX_FIXED_TEXT = 64
"""The shortest string column made for a row table's names (longer when a name is)."""


class Node:
    """One element path the contract needs: a node of the path tree."""

    __slots__ = ("id", "path", "tag", "parent", "children", "rule", "typed",
                 "dedupe", "first_only")

    def __init__(self, node_id: int, path: tuple[str, ...], parent: Node | None) -> None:
        self.id = node_id
        self.path = path
        self.tag = path[-1]
        self.parent = parent
        self.children: dict[str, Node] = {}
        self.rule: tuple[tuple[str, str, frozenset[str] | None], ...] | None = None
        """Filter checks (attribute, its lower-case name, allowed casefolded values or None)."""
        self.typed: tuple[str, str, str] | None = None
        """(attribute, lower-case name, casefolded first allowed value) of the rule's
        list attribute: what "the address of the first type" means at this level."""
        self.dedupe: tuple[str, str, str, str, dict[str, int]] | None = None
        """For the first filter rule: (key attr, lower, type attr, lower, priorities)."""
        self.first_only = False
        """Only the first instance counts (the parse horizon's element)."""


class FieldPlan:
    """How one mapping's value is read and transformed, relative to its table."""

    __slots__ = ("mapping", "node", "attribute", "attribute_lower", "steps", "column",
                 "counts_as_real", "is_key", "expression", "where", "where_arg", "typed",
                 "truncated_warning", "unconvertible_warning", "unmapped_warning",
                 "not_a_number_warning", "bad_date_warning",
                 "row_step", "row_argument", "history_name", "history_source", "label",
                 "selector", "reads_document", "fallback")

    def __init__(self, mapping: Mapping, node: Node) -> None:
        self.mapping = mapping
        self.node = node
        self.attribute = mapping.xml_attribute
        self.attribute_lower = mapping.xml_attribute.lower() if mapping.xml_attribute else None
        self.column = mapping.column()
        self.is_key = mapping.has_step("identity_insert")
        self.expression = mapping.expression
        self.steps: tuple = ()
        self.counts_as_real = True
        self.where = RECORD
        self.where_arg: object = None
        self.typed = False
        step = mapping.row_step
        if mapping.target_column:
            column = mapping.target_column
        elif step is not None and step.name == POLICY_EXCEPTIONS:
            column = "reason_code" if step.argument else "notes"
        else:
            column = "score" if step is not None and step.name == "add_score" else "value"
        label = f"{mapping.target_table}.{column}"
        self.label = label
        # The warning labels ("<kind>:<table>.<column>", counted per record; never a value).
        self.truncated_warning = f"truncated:{label}"
        """A string cut to ``data_length``."""
        self.not_a_number_warning = f"{NOT_A_NUMBER}:{label}"
        """A text that is no number (``numbers_only``/``extract_numeric`` found none)."""
        self.bad_date_warning = f"{BAD_DATE}:{label}"
        """A text that is no date (``extract_date`` found none)."""
        self.unconvertible_warning = self.bad_date_warning \
            if mapping.data_type in ("date", "datetime") else self.not_a_number_warning
        """A text that does not convert to the column's type: no value is written."""
        self.unmapped_warning = f"{UNMAPPED_CODE}:{label}"
        """An enum, char_to_bit or boolean_to_bit code that is in no entry of its table."""
        self.row_step = step.name if step else None
        self.row_argument = step.argument if step else None
        self.selector = mapping.selector is not None
        self.history_name = f"[{mapping.xml_attribute or mapping.xml_path[-1]}]"
        self.history_source = f"[{mapping.xml_path[-1]}]"
        self.reads_document = not (mapping.has_step("calculated_field")
                                   or mapping.has_step("char_to_bit")
                                   or mapping.has_step("boolean_to_bit"))
        """RL groups: only a value read from the document can make a group's row."""
        self.fallback: tuple = ()
        """The ancestors to search, nearest first, when the mapped element is missing."""


class ColumnPlan:
    """How one column of a table gets its value."""

    __slots__ = ("column", "fields", "parent_key", "default", "conditional", "label",
                 "defaulted_warning", "value_of")

    def __init__(self, column: Column, table: str) -> None:
        self.column = column
        self.fields: list[FieldPlan] = []
        """Mappings into this column, tried in contract order (first non-empty wins)."""
        self.parent_key = False
        """True for the foreign-key column: filled from the parent row."""
        self.default: object = NO_DEFAULT
        self.conditional = False
        self.label = f"table={table} column={column.name}"
        self.defaulted_warning = f"{DEFAULTED}:{table}.{column.name}"
        """The column was empty in a written row and took its ``default_value``."""
        self.value_of = None
        """``value_of(doc, row) -> value`` when a child table's foreign key is this column
        (``mapper.column_reader``, set after compiling)."""


class GroupPlan:
    """One RL group (``warranty_field(N)`` / ``add_collateral(N)``): at most one row."""

    __slots__ = ("argument", "cells")

    def __init__(self, argument: object) -> None:
        self.argument = argument
        """The group's key value (N), already converted to the key column's type."""
        self.cells: tuple = ()
        """Per non-key column, in table order: (ColumnPlan, FieldPlan | None)."""


class TablePlan:
    """How the rows of one table are built."""

    __slots__ = ("table", "kind", "row_node", "columns", "relationship", "parent", "fields",
                 "key_only", "groups", "notes", "children", "finishing", "row_values",
                 "parent_anchor", "finish_row")

    def __init__(self, table: Table, kind: int) -> None:
        self.table = table
        self.kind = kind
        self.row_node: Node | None = None
        self.columns: tuple[ColumnPlan, ...] = ()
        self.relationship: Relationship | None = None
        self.parent: TablePlan | None = None
        self.fields: tuple[FieldPlan, ...] = ()
        """ROWS and POLICY tables: one field per row-creating mapping."""
        self.key_only = False
        self.groups: tuple[GroupPlan, ...] = ()
        """GROUPS tables: the groups in order of their first mapping."""
        self.notes: FieldPlan | None = None
        """POLICY tables: the ``policy_exceptions()`` mapping that gives every row's notes."""
        self.children: tuple[TablePlan, ...] = ()
        """REPEAT tables whose rows sit inside this REPEAT table's instances."""
        self.finishing: tuple[tuple[int, ColumnPlan], ...] = ()
        """(position, column) of the columns a written row may still change: the
        parent key, and those with a default or not nullable (set after compiling)."""
        self.row_values = None
        """``row_values(doc, row) -> (values, has_real)`` for ROOT, SINGLE and REPEAT
        tables: a row's column values before the null rule; ``row_values(doc, None) -> rows``
        for ROWS, POLICY and GROUPS tables (``mapper.table_reader``: generated code)."""
        self.parent_anchor = 0
        """How a row finds its foreign key's value (``mapper.parent_anchor``, set after compiling)."""
        self.finish_row = None
        """``finish_row(doc, element, values) -> row``: a written row of a ROOT, SINGLE or
        REPEAT table with its foreign key, defaults and null rule (``mapper.row_finisher``)."""


@dataclass(frozen=True, slots=True)
class MapOptions:
    """How documents are mapped; the same for every document of a run."""

    now: datetime
    """The run's clock (GETUTCDATE, default_getutcdate_if_null); naive UTC or aware."""
    max_document_bytes: int = 64 * 1024 * 1024
    """Larger documents fail at ``validate`` without being parsed."""
    strict_wellformed: bool = False
    """Parse the whole document even when the contract needs only its start,
    so a malformed tail fails at ``parse`` instead of being ignored."""


class CompiledView(Protocol):
    """What the mapper reads of a compiled contract (``compiler.CompiledContract`` is one),
    so ``mapper.py`` needs no import of ``compiler.py``."""

    contract: Contract
    options: MapOptions
    now: datetime
    now_text: str
    nodes: tuple[Node, ...]
    app_node: Node
    key_node: Node
    key_attribute: str | None
    key_attribute_lower: str | None
    key_column: Column
    plans: tuple[TablePlan, ...]
    schema: TargetSchema
    contact_node: Node | None
    name_nodes: dict[str, tuple[Node, ...]]
    unknown_names: frozenset[str]
    aliases: dict[str, str]
    horizon: tuple[str, ...] | None
