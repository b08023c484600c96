"""Turn a validated contract into plans that map documents quickly.

Compiling does, once per process, everything that does not depend on a
document: the target schema, one plan per table and column, the tree of
element paths the contract reads (so a document is indexed in a single pass
over just those elements), and the *parse horizon*, the element after whose
end tag nothing more is needed. ``mapper.py`` runs the plans against one
document; ``parsing.py`` parses it.
"""

from __future__ import annotations

from datetime import UTC

from xmlshred.contract.mapper import column_reader, map_document, parent_anchor, row_finisher, table_reader
from xmlshred.contract.model import (
    GROUP_KEY_COLUMNS,
    GROUP_STEPS,
    POLICY_EXCEPTIONS,
    POLICY_KEY_COLUMN,
    Contract,
    FilterRule,
    Mapping,
    Relationship,
)
from xmlshred.contract.plans import (
    ABOVE,
    BELOW,
    BOOLEAN_TO_BIT,
    CHAR_TO_BIT,
    CONTACT,
    ENUM,
    GROUPS,
    INTEGER_TYPES,
    MAX_FIXED_TEXT,
    NO_DEFAULT,
    POLICY,
    RECORD,
    RECORD_KEY,
    REPEAT,
    ROOT,
    ROWS,
    SELF,
    SINGLE,
    STEP_CODES,
    ColumnPlan,
    FieldPlan,
    GroupPlan,
    MapOptions,
    Node,
    TablePlan,
)
from xmlshred.contract.values import convert_value
from xmlshred.vocab.results import MappedRecord, RecordFailure
from xmlshred.vocab.schema import Column, Table, TargetSchema

__all__ = ["MapOptions", "CompiledContract", "compile_contract", "contract_schema"]

class CompiledContract:
    """A contract ready to map documents: compile once, map many.

    ``map_document`` is a pure function of the document; nothing is shared
    between calls except these read-only plans.
    """

    def __init__(self, contract: Contract, options: MapOptions) -> None:
        self.contract = contract
        self.options = options
        now = options.now
        if now.tzinfo is not None:
            now = now.astimezone(UTC).replace(tzinfo=None)
        self.now = now
        self.now_text = now.isoformat(" ")
        builder = _Builder(contract)
        self.nodes: tuple[Node, ...] = builder.nodes
        self.app_node: Node = builder.node(contract.xml_application_path)
        key_mapping = contract.key_mapping
        self.key_node: Node = builder.node(key_mapping.xml_path)
        self.key_attribute = key_mapping.xml_attribute
        self.key_attribute_lower = key_mapping.xml_attribute.lower() if key_mapping.xml_attribute else None
        self.key_column: Column = key_mapping.column()
        self.plans: tuple[TablePlan, ...] = builder.plans
        self.schema = _schema(contract, self.plans)
        self.contact_node: Node | None = builder.contact_node
        self.contact_types: tuple[str, ...] = builder.contact_types
        self.name_nodes: dict[str, tuple[Node, ...]] = builder.name_nodes
        self.unknown_names: frozenset[str] = builder.unknown_names
        self.aliases: dict[str, str] = builder.aliases
        """Expression element names that stand for another (``application`` → ``IL_application``)."""
        self.horizon: tuple[str, ...] | None = builder.horizon()
        if self.horizon is not None:
            builder.node(self.horizon).first_only = True
        self.enums = contract.enum_mappings

    def map_document(self, document: bytes | str, expected_key: int | None = None
                     ) -> MappedRecord | RecordFailure:
        """Map one document to rows, or say why it cannot be mapped.

        Never raises: every problem (size, encoding, well-formedness,
        forbidden DOCTYPE, wrong root, missing key, a value breaking a rule)
        becomes a RecordFailure with its stage and a reason that never
        contains field values.
        """
        return map_document(self, document, expected_key)


def compile_contract(contract: Contract, options: MapOptions) -> CompiledContract:
    """Compile a validated contract for mapping documents.

    Raises ValueError only for a contract that did not come from the loader
    (the loader rejects everything else this would trip on).
    """
    return CompiledContract(contract, options)


def contract_schema(contract: Contract) -> TargetSchema:
    """The tables a contract writes (``compile_contract(...).schema``), for a command that maps no
    document (``status``, ``tune``'s scratch schema): it needs no ``MapOptions``."""
    return _schema(contract, _Builder(contract).plans)


def _schema(contract: Contract, plans: tuple[TablePlan, ...]) -> TargetSchema:
    return TargetSchema(schema_name=contract.target_schema, key_column=contract.key_mapping.target_column,
                        tables=tuple(plan.table for plan in plans))


def _is_prefix(prefix: tuple[str, ...], path: tuple[str, ...]) -> bool:
    return len(prefix) <= len(path) and path[: len(prefix)] == prefix


class _Builder:
    """Builds the path tree, the table plans and the schema from a contract."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self.mappings = contract.mappings
        self.repeating = contract.repeating_paths
        self._by_path: dict[tuple[str, ...], Node] = {}
        self.text_paths: set[tuple[str, ...]] = set()
        self.needed: set[tuple[str, ...]] = set()
        self.build_tree()
        # ``application.x`` means the application element when the contract names
        # it (IL_application); a name that is no element of the contract (some
        # contracts put a table name there) is not an alias.
        app_element = contract.source_application_table
        tags = {node.tag for node in self._by_path.values()}
        self.aliases = ({"application": app_element}
                        if app_element and app_element != "application" and app_element in tags
                        else {})
        self.rules_to_nodes()
        self.contact_node, self.contact_types = self.contact_rule()
        self.name_nodes, self.unknown_names = self.expression_names()
        self.nodes = self.number_nodes()
        self.plans = self.build_plans()

    # -- path tree --

    def add_path(self, path: tuple[str, ...]) -> Node:
        node = self._by_path.get(path)
        if node is not None:
            return node
        parent = self.add_path(path[:-1]) if len(path) > 1 else None
        node = Node(-1, path, parent)
        if parent is not None:
            parent.children[node.tag] = node
        self._by_path[path] = node
        return node

    def node(self, path: tuple[str, ...]) -> Node:
        return self._by_path[path]

    def build_tree(self) -> None:
        contract = self.contract
        paths = [contract.xml_application_path]
        paths += [rule.xml_child_path for rule in contract.filter_rules]
        for relationship in contract.relationships:
            paths += [relationship.xml_parent_path, relationship.xml_child_path]
        for mapping in self.mappings:
            paths.append(mapping.xml_path)
            if mapping.xml_attribute is None:
                self.text_paths.add(mapping.xml_path)
        for path in paths:
            self.add_path(path)
            self.needed.add(path)

    def rules_to_nodes(self) -> None:
        for rule in self.contract.filter_rules:
            node = self.node(rule.xml_child_path)
            node.rule = tuple(
                (attribute, attribute.lower(),
                 None if values is None else frozenset(v.strip().casefold() for v in values))
                for attribute, values in rule.required
            )
            typed = next(((a, values) for a, values in rule.required if values), None)
            if typed is not None:
                node.typed = (typed[0], typed[0].lower(), typed[1][0].strip().casefold())

    def contact_rule(self) -> tuple[Node | None, tuple[str, ...]]:
        """The first filter rule's element: deduplicated, and what selectors pick from."""
        rules = self.contract.filter_rules
        if not rules:
            return None, ()
        rule: FilterRule = rules[0]
        node = self.node(rule.xml_child_path)
        key = next((a for a, values in rule.required if values is None), None)
        typed = next(((a, values) for a, values in rule.required if values), None)
        types = tuple(v.strip().casefold() for v in typed[1]) if typed else ()
        if key is not None:
            priorities: dict[str, int] = {}
            for position, value in enumerate(types):
                priorities.setdefault(value, position)
            type_attribute = typed[0] if typed else ""
            node.dedupe = (key, key.lower(), type_attribute, type_attribute.lower(), priorities)
        return node, types

    def expression_names(self) -> tuple[dict[str, tuple[Node, ...]], frozenset[str]]:
        names: set[str] = set()
        for mapping in self.mappings:
            if mapping.expression is not None and mapping.has_step("calculated_field"):
                names.update(self.aliases.get(n, n) for n, _ in mapping.expression.references
                             if n is not None)
        by_name: dict[str, list[Node]] = {}
        for node in self._by_path.values():
            by_name.setdefault(node.tag, []).append(node)
        found: dict[str, tuple[Node, ...]] = {}
        unknown = set()
        for name in names:
            if name in by_name:
                found[name] = tuple(sorted(by_name[name], key=lambda n: len(n.path)))
            else:
                unknown.add(name)
        return found, frozenset(unknown)

    def number_nodes(self) -> tuple[Node, ...]:
        """Node ids in breadth-first order: a parent is always indexed before its children."""
        roots = [node for node in self._by_path.values() if node.parent is None]
        order: list[Node] = []
        level = roots
        while level:
            order.extend(level)
            level = [child for node in level for child in node.children.values()]
        for number, node in enumerate(order):
            node.id = number
        return tuple(order)

    def horizon(self) -> tuple[str, ...] | None:
        """The element whose end tag ends what the contract needs, or None (whole document).

        Candidates are the application element and its ancestors below the
        root (the root's end is the document's end). A candidate works when
        every needed path is inside it, or is an ancestor whose attributes
        alone are read (attributes are known at the start tag), and when it
        is not a repeating element (stopping after the first instance would
        lose the others).
        """
        if self.unknown_names:
            return None
        repeating = self.repeating
        app = self.contract.xml_application_path
        for depth in range(len(app), 1, -1):
            candidate = app[:depth]
            if any(_is_prefix(p, candidate) for p in repeating):
                continue
            if all(self.inside_horizon(path, candidate) for path in self.needed):
                return candidate
        return None

    def inside_horizon(self, path: tuple[str, ...], horizon: tuple[str, ...]) -> bool:
        if _is_prefix(horizon, path):
            return True
        return _is_prefix(path, horizon) and path not in self.text_paths

    # -- tables and columns --

    def build_plans(self) -> tuple[TablePlan, ...]:
        contract = self.contract
        root = contract.root_table
        key_mapping = contract.key_mapping
        relationships = {r.child_table: r for r in contract.relationships}
        by_table: dict[str, list[Mapping]] = {}
        for mapping in self.mappings:
            by_table.setdefault(mapping.target_table, []).append(mapping)

        listed = [t for t in contract.table_insertion_order if t in by_table]
        unlisted = sorted(t for t in by_table if t not in contract.table_insertion_order)
        plans: dict[str, TablePlan] = {}
        for name in listed + unlisted:
            mappings = by_table[name]
            step = mappings[0].row_step
            if step is None:
                continue
            if step.name == POLICY_EXCEPTIONS:
                plans[name] = self.policy_plan(name, mappings, key_mapping)
            elif step.name in GROUP_STEPS:
                plans[name] = self.groups_plan(name, mappings, key_mapping)
            else:
                plans[name] = self.rows_plan(name, mappings, key_mapping)
        # Columnar tables: parents first so foreign-key columns can take their type.
        pending = [n for n in listed + unlisted if n not in plans]
        while pending:
            progressed = False
            for name in list(pending):
                relationship = relationships.get(name)
                if name != root and relationship is not None and relationship.parent_table in pending:
                    continue
                plans[name] = self.columns_plan(name, by_table[name], relationship, plans, key_mapping)
                pending.remove(name)
                progressed = True
            if not progressed:
                raise ValueError("relationships form a loop")  # the loader rejects this
        ordered = tuple(plans[name] for name in listed + unlisted)
        for plan in ordered:
            plan.finishing = tuple(
                (position, column) for position, column in enumerate(plan.columns)
                if column.parent_key or column.default is not NO_DEFAULT
                or not column.column.nullable)
            plan.row_values = table_reader(plan)
            plan.parent_anchor = parent_anchor(plan, key_mapping.target_column)
            plan.finish_row = row_finisher(plan)
            if plan.parent_anchor != RECORD_KEY:  # the foreign key is a column of the parent
                name = plan.relationship.foreign_key_column
                column = next((c for c in plan.parent.columns if c.column.name == name), None)
                if column is not None and not column.parent_key and column.value_of is None:
                    column.value_of = column_reader(column)
        for plan in ordered:
            if plan.kind == REPEAT:
                plan.children = tuple(other for other in ordered
                                      if other.kind == REPEAT and other.parent is plan)
        return ordered

    def field(self, mapping: Mapping) -> FieldPlan:
        node = self.node(mapping.xml_path)
        plan = FieldPlan(mapping, node)
        steps = []
        enums = self.contract.enum_mappings
        for step in mapping.steps:
            code = STEP_CODES.get(step.name)
            if code is None:
                continue
            payload: object = None
            if code == ENUM:
                # An enum that does not resolve (allowed on a nullable column) finds nothing.
                table = {code: str(value) for code, value in enums.get(mapping.enum_name, {}).items()}
                payload = (table, _folded(table), table.get(""))
            elif code == CHAR_TO_BIT:
                table = self.contract.char_to_bit
                payload = (table, _folded(table), table.get(""))
            elif code == BOOLEAN_TO_BIT:
                table = self.contract.boolean_to_bit
                payload = (_folded(table), table.get(""))
            steps.append((code, payload))
        plan.steps = tuple(steps)
        ancestors = []
        parent = node.parent
        while parent is not None:
            ancestors.append(parent)
            parent = parent.parent
        plan.fallback = tuple(ancestors)
        rule = node.rule
        reads_required = rule is not None and plan.attribute_lower is not None and any(
            lower == plan.attribute_lower for _, lower, _ in rule)
        plan.counts_as_real = not plan.is_key and not reads_required
        return plan

    def place(self, plan: FieldPlan, row_node: Node | None) -> None:
        """Decide where ``plan`` finds its element for a row of ``row_node``'s instances."""
        path = plan.node.path
        selector = plan.mapping.selector
        contact = self.contact_node
        if selector in ("last_valid_pr_contact", "last_valid_sec_contact", "authu_contact") \
                and contact is not None and _is_prefix(contact.path, path):
            if selector == "authu_contact":
                wanted = "authu"
            else:
                position = 0 if selector == "last_valid_pr_contact" else 1
                wanted = self.contact_types[position] if position < len(self.contact_types) else None
            below = tuple(self.node(path[:depth]) for depth in range(len(contact.path) + 1, len(path) + 1))
            plan.where, plan.where_arg, plan.typed = CONTACT, (wanted, below), True
            return
        plan.typed = selector == "curr_address_only"
        if row_node is None:
            plan.where = RECORD
        elif row_node.path == path:
            plan.where = SELF
        elif _is_prefix(row_node.path, path):
            plan.where = BELOW
            plan.where_arg = tuple(self.node(path[:depth])
                                   for depth in range(len(row_node.path) + 1, len(path) + 1))
        elif _is_prefix(path, row_node.path):
            plan.where, plan.where_arg = ABOVE, len(row_node.path) - len(path)
        else:
            plan.where = RECORD

    def rows_plan(self, name: str, mappings: list[Mapping], key_mapping: Mapping) -> TablePlan:
        step = mappings[0].row_step.name
        key = Column(key_mapping.target_column, key_mapping.data_type, None, False)

        def text_column(column: str, values: list[str]) -> Column:
            longest = max((len(v) for v in values), default=0)
            return Column(column, "string", max(MAX_FIXED_TEXT, longest), False)

        arguments = [m.row_step.argument or "" for m in mappings]
        shared_score = None
        if step == "add_score":
            first = mappings[0]
            score = Column("score", first.data_type, first.data_length, False)
            if len({(m.data_type, m.data_length) for m in mappings}) > 1:
                # Scores of different types share one column: the widest exact type,
                # and every score converts to it (an int score into a decimal column).
                places = max((m.data_length or 0 for m in mappings if m.data_type == "decimal"),
                             default=0)
                exact = all(m.data_type in INTEGER_TYPES for m in mappings)
                score = shared_score = Column("score", "bigint" if exact else "decimal",
                                              None if exact else places, False)
            columns = (key, text_column("score_identifier", arguments), score)
        elif step == "add_indicator":
            columns = (key, text_column("indicator", arguments), Column("value", "string", None, False))
        elif step == "add_history":
            names = [f"[{m.xml_attribute or m.xml_path[-1]}]" for m in mappings]
            sources = [f"[{m.xml_path[-1]}]" for m in mappings]
            columns = (key, text_column("name", names), text_column("source", sources),
                       Column("value", "string", None, False))
        else:
            names = [m.xml_attribute or m.xml_path[-1] for m in mappings]
            columns = (key, text_column("name", names), Column("value", "string", None, False),
                       text_column("source_report_key", arguments))
        options = self.contract.tables.get(name)
        table = Table(name, columns, options.primary_key if options else (),
                      options.on_conflict if options else "error")
        plan = TablePlan(table, ROWS)
        plan.fields = self.placed_fields(mappings)
        if shared_score is not None:
            for field in plan.fields:
                field.column = shared_score
        return plan

    def row_table(self, name: str, columns: tuple[Column, ...], implied_key: tuple[str, ...],
                  kind: int) -> TablePlan:
        """The plan of a row-creating table; the contract's ``tables`` entry wins over the implied key."""
        options = self.contract.tables.get(name)
        primary_key = options.primary_key if options and options.primary_key else implied_key
        table = Table(name, columns, primary_key, options.on_conflict if options else "error")
        return TablePlan(table, kind)

    def placed_fields(self, mappings: list[Mapping]) -> tuple[FieldPlan, ...]:
        fields = []
        for mapping in mappings:
            field = self.field(mapping)
            self.place(field, None)
            fields.append(field)
        return tuple(fields)

    def policy_plan(self, name: str, mappings: list[Mapping], key_mapping: Mapping) -> TablePlan:
        """``policy_exceptions(N)`` rows: {key, type N, reason_code, notes}."""
        key = Column(key_mapping.target_column, key_mapping.data_type, None, False)
        typed = [m for m in mappings if m.row_step.argument]
        notes = [m for m in self.mappings if m.row_step is not None
                 and m.row_step.name == POLICY_EXCEPTIONS and not m.row_step.argument]
        arguments = [m.row_step.argument for m in typed]
        lengths = [m.data_length if m.data_type == "string" else None for m in typed]
        reason_length = None if None in lengths or not lengths else max(lengths)
        notes_length = notes[0].data_length if notes and notes[0].data_type == "string" else None
        columns = (key, _argument_column(POLICY_KEY_COLUMN, arguments),
                   Column("reason_code", "string", reason_length, True),
                   Column("notes", "string", notes_length, True))
        plan = self.row_table(name, columns, (key.name, POLICY_KEY_COLUMN), POLICY)
        plan.fields = self.placed_fields(typed)
        for field in plan.fields:
            field.row_argument = _argument_value(field.row_argument, columns[1])
            field.column = Column("reason_code", "string", field.mapping.data_length
                                  if field.mapping.data_type == "string" else None, True)
        if notes:
            (plan.notes,) = self.placed_fields(notes[:1])
            plan.notes.column = Column("notes", "string", notes_length, True)
        return plan

    def groups_plan(self, name: str, mappings: list[Mapping], key_mapping: Mapping) -> TablePlan:
        """``warranty_field(N)`` / ``add_collateral(N)``: one row per group that has a real value."""
        step = mappings[0].row_step.name
        key = Column(key_mapping.target_column, key_mapping.data_type, None, False)
        group_column = _argument_column(GROUP_KEY_COLUMNS[step], [m.row_step.argument for m in mappings])
        first_of: dict[str, Mapping] = {}
        for mapping in mappings:
            first_of.setdefault(mapping.target_column, mapping)
        shared = {column: ColumnPlan(mapping.column(), name) for column, mapping in first_of.items()}
        for column, mapping in first_of.items():
            if mapping.default_value is not None:
                shared[column].default = _default_value(mapping)
        columns = (key, group_column) + tuple(plan.column for plan in shared.values())
        plan = self.row_table(name, columns, (key.name, group_column.name), GROUPS)
        by_argument: dict[str, list[Mapping]] = {}
        for mapping in mappings:
            by_argument.setdefault(mapping.row_step.argument, []).append(mapping)
        groups = []
        for argument, members in by_argument.items():
            group = GroupPlan(_argument_value(argument, group_column))
            fields = dict(zip((m.target_column for m in members), self.placed_fields(members), strict=True))
            cells = []
            for column, column_plan in shared.items():
                field = fields.get(column)
                if field is None:
                    cells.append((None, column_plan.column, column_plan.default))
                else:
                    own = field.mapping
                    default = _default_value(own) if own.default_value is not None else NO_DEFAULT
                    cells.append((field, field.column, default))
            group.cells = tuple(cells)
            groups.append(group)
        plan.groups = tuple(groups)
        return plan

    def columns_plan(self, name: str, mappings: list[Mapping], relationship: Relationship | None,
                     plans: dict[str, TablePlan], key_mapping: Mapping) -> TablePlan:
        root = self.contract.root_table
        if name == root:
            kind, relationship = ROOT, None
        elif relationship.xml_child_path in self.repeating:
            kind = REPEAT
        else:
            kind = SINGLE
        row_node = self.node(relationship.xml_child_path) if kind == REPEAT else None
        columns: dict[str, ColumnPlan] = {}
        parent = plans.get(relationship.parent_table) if relationship else None
        if relationship is not None:
            fk = relationship.foreign_key_column
            fk_column = self.parent_column(fk, parent, key_mapping)
            column_plan = ColumnPlan(fk_column, name)
            column_plan.parent_key = True
            columns[fk] = column_plan
        for mapping in mappings:
            column_name = mapping.target_column
            column_plan = columns.get(column_name)
            if column_plan is None:
                column_plan = ColumnPlan(mapping.column(), name)
                columns[column_name] = column_plan
            if column_plan.parent_key:
                continue
            field = self.field(mapping)
            self.place(field, row_node)
            column_plan.fields.append(field)
            if mapping.default_value is not None and column_plan.default is NO_DEFAULT:
                column_plan.default = _default_value(mapping)
                column_plan.conditional = mapping.exclude_default_when_record_empty and kind != ROOT
        options = self.contract.tables.get(name)
        table = Table(name, tuple(c.column for c in columns.values()),
                      options.primary_key if options else (),
                      options.on_conflict if options else "error")
        plan = TablePlan(table, kind)
        plan.row_node = row_node
        plan.relationship = relationship
        plan.parent = parent
        plan.columns = tuple(columns.values())
        return plan

    def parent_column(self, name: str, parent: TablePlan | None, key_mapping: Mapping) -> Column:
        """The foreign-key column, typed like the column it refers to."""
        if name == key_mapping.target_column:
            return Column(name, key_mapping.data_type, key_mapping.data_length, False)
        if parent is not None:
            for column in parent.table.columns:
                if column.name == name:
                    return Column(name, column.data_type, column.data_length, False)
        return Column(name, "bigint", None, False)


def _argument_column(name: str, arguments: list[str]) -> Column:
    """The column holding a row step's argument: an integer when every argument is one."""
    if arguments and all(a.isascii() and a.lstrip("-").isdigit() for a in arguments):
        return Column(name, "int", None, False)
    return Column(name, "string", max(MAX_FIXED_TEXT, max(map(len, arguments), default=0)), False)


def _argument_value(argument: str, column: Column) -> object:
    return int(argument) if column.data_type == "int" else argument


def _folded(table: dict[str, int]) -> dict[str, int]:
    """Case-insensitive view of a lookup table (the first spelling wins)."""
    folded: dict[str, int] = {}
    for code, value in table.items():
        folded.setdefault(code.strip().casefold(), value)
    return folded


def _default_value(mapping: Mapping) -> object:
    text = mapping.default_value
    if text == "":
        return ""
    value, _ = convert_value(text, mapping.column())
    return value
