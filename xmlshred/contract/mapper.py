"""Map one parsed document to rows with a compiled contract.

The document is indexed once: a breadth-first walk over only the element
paths the contract needs, which applies the element filters, the contact
deduplication and the horizon's first-instance rule on the way. Every field
then finds its element through that index (its own row instance, a child
of it, an ancestor, a selector's pick, or the record's first valid
instance) without any XPath.
"""

from __future__ import annotations

from xmlshred.contract.parsing import DocumentRejected, check_size, parse_document
from xmlshred.contract.plans import (
    ABOVE,
    BELOW,
    FIRST_INSTANCE,
    GROUPS,
    HISTORY_EMPTY,
    INDICATOR_TRUE,
    NO_ANCHOR,
    NO_DEFAULT,
    NUMERIC_TYPES,
    POLICY,
    RECORD,
    RECORD_KEY,
    REPEAT,
    ROOT,
    ROWS,
    SELF,
    SINGLE,
    ColumnPlan,
    CompiledView,
    FieldPlan,
    TablePlan,
)
from xmlshred.contract.row_source import (
    generate_column_value,
    generate_finish,
    generate_group_table,
    generate_key_value_table,
    generate_policy_table,
    generate_table,
)
from xmlshred.contract.values import (
    INTEGER_RANGES,
    ValueRangeError,
    convert_value,
    format_canonical,
)
from xmlshred.vocab.errors import DataError
from xmlshred.vocab.results import MappedRecord, RecordFailure

__all__ = ["map_document"]

"""Texts that stand for no value in history, policy-exception and group rows."""


class _Failed(DataError):
    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(reason)
        self.stage = stage
        self.reason = reason


def map_document(compiled: CompiledView, document: bytes | str,
                 expected_key: int | None = None) -> MappedRecord | RecordFailure:
    """Map ``document``; see ``CompiledContract.map_document``. Never raises."""
    known_key = expected_key if isinstance(expected_key, int) else None
    try:
        options = compiled.options
        data = check_size(document, options.max_document_bytes)
        horizon = None if options.strict_wellformed else compiled.horizon
        root = parse_document(data, horizon)
        if root.tag != compiled.contract.xml_root_element:
            raise _Failed("validate", f"the document element is not "
                                      f"<{compiled.contract.xml_root_element}>")
        doc = _Document(compiled, root)
        try:
            if not doc.inst[compiled.app_node.id]:
                raise _Failed("validate", "the document has no element at xml_application_path "
                                          f"{'/' + '/'.join(compiled.contract.xml_application_path)}")
            key = _record_key(doc, expected_key)
            known_key = key
            doc.key = key
            tables = []
            for plan, rows in _all_rows(doc):
                if rows:
                    tables.append((plan.table.name, tuple(rows)))
            warnings = tuple(sorted(doc.warnings.items()))
            return MappedRecord(key=key, tables=tuple(tables), warnings=warnings)
        finally:
            # The cached answers refer back to the document: dropping them lets reference
            # counting free the parsed tree now instead of at the next garbage collection.
            doc.answers.clear()
    except DocumentRejected as rejected:
        return RecordFailure(known_key, rejected.stage, rejected.reason)
    except _Failed as failed:
        return RecordFailure(known_key, failed.stage, failed.reason)
    except RecursionError:
        return RecordFailure(known_key, "parse", "the document is nested too deeply")
    except Exception as error:  # the contract of map_document: a failure, never an exception
        return RecordFailure(known_key, "map", f"unexpected error while mapping ({type(error).__name__})")


def _record_key(doc: _Document, expected_key: int | None) -> int:
    compiled = doc.compiled
    column = compiled.key_column
    label = f"record key ({compiled.schema.key_column})"
    instances = doc.inst[compiled.key_node.id]
    element = instances[0] if instances else None
    raw = None
    if element is not None:
        if compiled.key_attribute is None:
            raw = element.text
        else:
            raw = doc.attr(element, compiled.key_attribute, compiled.key_attribute_lower)
    text = raw.strip() if raw else ""
    if not text:
        raise _Failed("validate", f"the {label} is missing")
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        raise _Failed("validate", f"the {label} is not a positive integer")
    key = int(text)
    low, high = INTEGER_RANGES.get(column.data_type, INTEGER_RANGES["bigint"])
    if key <= 0 or key > high:
        raise _Failed("validate", f"the {label} is not a positive {column.data_type}")
    if expected_key is not None and key != expected_key:
        raise _Failed("validate", f"the {label} in the document differs from the source's key")
    return key


class _Document:
    """The per-document index: valid instances of every needed path, in document order."""

    __slots__ = ("compiled", "root", "inst", "kids", "lowered", "warnings", "key",
                 "contacts", "named", "parent_values", "answers")

    def __init__(self, compiled: CompiledView, root) -> None:
        self.compiled = compiled
        self.root = root
        self.lowered: dict = {}
        self.warnings: dict[str, int] = {}
        self.key: int | None = None
        self.contacts: dict = {}
        self.named: dict = {}
        self.parent_values: dict = {}
        self.answers: dict = {}
        nodes = compiled.nodes
        inst: list = [()] * len(nodes)  # no instances: read only, never appended to
        root_tag = root.tag
        for node in nodes:
            if node.parent is None and node.tag == root_tag:
                inst[node.id] = [root]
        for node in nodes:
            parents = inst[node.id]
            children = node.children
            if not children or not parents:
                continue
            found: dict[int, list] = {}
            for parent in parents:
                for child in parent:
                    target = children.get(child.tag)
                    if target is not None:
                        pairs = found.get(target.id)
                        if pairs is None:
                            found[target.id] = [(parent, child)]
                        else:
                            pairs.append((parent, child))
            for child_id, pairs in found.items():
                child_node = nodes[child_id]
                if child_node.rule is not None:
                    pairs = [pair for pair in pairs if self.valid(pair[1], child_node.rule)]
                if child_node.dedupe is not None and len(pairs) > 1:
                    pairs = self.deduplicate(pairs, child_node.dedupe)
                if child_node.first_only:
                    pairs = pairs[:1]
                inst[child_id] = [child for _, child in pairs]
        self.inst = inst
        self.kids: dict[int, dict] = {}

    def children_of(self, node_id: int) -> dict:
        """The valid instances of a node by their parent element, worked out on first use
        (only fields below a row or a contact ask): ``inst`` in document order, grouped."""
        by_parent = self.kids.get(node_id)
        if by_parent is None:
            by_parent = self.kids[node_id] = {}
            for child in self.inst[node_id]:
                parent = child.getparent()
                siblings = by_parent.get(parent)
                if siblings is None:
                    by_parent[parent] = [child]
                else:
                    siblings.append(child)
        return by_parent

    def attr(self, element, name: str, lower: str) -> str | None:
        """An attribute's raw text, its name matched case-insensitively."""
        value = element.get(name)
        if value is not None:
            return value
        return self.attr_other_case(element, lower)

    def attr_other_case(self, element, lower: str) -> str | None:
        """``attr`` once the name as written is known to be absent."""
        # The element's names in lower case, read once. Most misses are simply absent:
        # ASCII names are kept as one lowered string ("\0a\0b\0") that answers those
        # with one search; other names (where lowering may depend on the neighbours,
        # as Greek final sigma does) as a dict by their lower case.
        lowered = self.lowered.get(element)
        if lowered is None:
            lowered = self.lower_names(element)
        if type(lowered) is str:
            if f"\0{lower}\0" not in lowered:
                return None
            for key in reversed(element.keys()):  # the last spelling wins
                if key.lower() == lower:
                    return element.get(key)
            return None  # pragma: no cover - the search found the name
        key = lowered.get(lower)
        return None if key is None else element.get(key)

    def lower_names(self, element) -> str | dict:
        """The element's attribute names in lower case, read once per document: ASCII names
        as one string ("\0a\0b\0"), others as a dict of the names by their lower case."""
        keys = element.keys()
        joined = "\0" + "\0".join(keys) + "\0"
        if joined.isascii():
            lowered = joined.lower()
        else:
            lowered = {key.lower(): key for key in keys}
        self.lowered[element] = lowered
        return lowered

    def lowered_names(self, element) -> str:
        """The element's attribute names, each in lower case, as one string "\0a\0b\0": an
        attribute ``lower`` may be there in another case only when "\0lower\0" is in it
        (generated builders test that before they call ``attr_other_case``)."""
        lowered = self.lowered.get(element)
        if lowered is None:
            lowered = self.lower_names(element)
        if type(lowered) is str:
            return lowered
        return "\0" + "\0".join(lowered) + "\0"

    def valid(self, element, rule) -> bool:
        for name, lower, allowed in rule:
            value = self.attr(element, name, lower)
            if not value:
                return False
            value = value.strip()
            if not value:
                return False
            if allowed is not None and value.casefold() not in allowed:
                return False
        return True

    def deduplicate(self, pairs: list, dedupe) -> list:
        """One element per key: the earliest type in the rule's list wins, a tie goes to the later."""
        key_name, key_lower, type_name, type_lower, priorities = dedupe
        worst = len(priorities)
        best: dict[str, tuple[int, object]] = {}
        keys = []
        for _, element in pairs:
            key = (self.attr(element, key_name, key_lower) or "").strip().casefold()
            keys.append(key)
            kind = (self.attr(element, type_name, type_lower) or "").strip().casefold() \
                if type_name else ""
            priority = priorities.get(kind, worst)
            current = best.get(key)
            if current is None or priority <= current[0]:
                best[key] = (priority, element)
        return [pair for pair, key in zip(pairs, keys, strict=True) if best[key][1] is pair[1]]

    def warn(self, kind: str) -> None:
        self.warnings[kind] = self.warnings.get(kind, 0) + 1

    # -- finding a field's element --

    def typed_first(self, elements, node):
        typed = node.typed
        if typed is None:
            return elements[0] if elements else None
        name, lower, wanted = typed
        for element in elements:
            value = self.attr(element, name, lower)
            if value and value.strip().casefold() == wanted:
                return element
        return None

    def descend(self, element, nodes, typed: bool):
        current = [element]
        for node in nodes:
            by_parent = self.children_of(node.id)
            found = []
            for parent in current:
                children = by_parent.get(parent)
                if children:
                    found.extend(children)
            if typed and node.typed is not None and found:
                first = self.typed_first(found, node)
                found = [first] if first is not None else []
            if not found:
                return None
            current = found
        return current[0]

    def contact(self, wanted: str | None):
        """The last valid contact of type ``wanted`` (case-insensitive), or None."""
        if wanted in self.contacts:
            return self.contacts[wanted]
        compiled = self.compiled
        picked = None
        node = compiled.contact_node
        if wanted is not None and node is not None and node.dedupe is not None:
            _, _, type_name, type_lower, _ = node.dedupe
            for element in reversed(self.inst[node.id]):
                value = self.attr(element, type_name, type_lower)
                if value and value.strip().casefold() == wanted:
                    picked = element
                    break
        elif wanted is not None and node is not None and node.typed is not None:
            type_name, type_lower, _ = node.typed
            for element in reversed(self.inst[node.id]):
                value = self.attr(element, type_name, type_lower)
                if value and value.strip().casefold() == wanted:
                    picked = element
                    break
        self.contacts[wanted] = picked
        return picked

    def locate(self, field: FieldPlan, row):
        where = field.where
        if where == SELF:
            return row
        if where == RECORD:
            elements = self.inst[field.node.id]
            if field.typed:
                return self.typed_first(elements, field.node)
            return elements[0] if elements else None
        if where == BELOW:
            return self.descend(row, field.where_arg, field.typed)
        if where == ABOVE:
            for _ in range(field.where_arg):
                row = row.getparent()
            return row
        # CONTACT: a selector's pick, then down to the mapped element.
        wanted, below = field.where_arg
        contact = self.contact(wanted)
        if contact is None or not below:
            return contact
        return self.descend(contact, below, True)

    def first_named(self, name: str):
        """The record's first valid element called ``name`` (expression lookups)."""
        if name in self.named:
            return self.named[name]
        found = None
        for node in self.compiled.name_nodes.get(name, ()):
            elements = self.inst[node.id]
            if elements:
                found = elements[0]
                break
        else:
            if name in self.compiled.unknown_names:
                found = next(self.root.iter(name), None)
        self.named[name] = found
        return found

    def start_of(self, field: FieldPlan, row):
        """Where a missing element's expression starts: its nearest existing ancestor."""
        if field.where == BELOW:
            element = row
            current = [row]
            for node in field.where_arg:
                found = [c for parent in current for c in self.children_of(node.id).get(parent, ())]
                if not found:
                    break
                current = found
                element = found[0]
            return element
        for node in field.fallback:
            instances = self.inst[node.id]
            if instances:
                return instances[0]
        return None

    def answer(self, element, name: str | None, attribute: str) -> str | None:
        """``resolve``, each answer remembered for the document (generated expressions ask
        here for what the starting element does not have itself)."""
        key = (element, name, attribute)
        value = self.answers.get(key, key)
        if value is key:
            value = self.answers[key] = self.resolve(element, name, attribute)
        return value

    def resolve(self, element, name: str | None, attribute: str) -> str | None:
        """An expression's attribute from ``element`` (CONTRACT.md): a bare name is the
        element's own attribute, else the nearest ancestor's that has it at all; a named
        one the attribute of the nearest element of that name, the element itself or an
        ancestor, else of the record's first valid one."""
        if name is None:
            # A bare name: the element's own attribute, else the nearest ancestor's
            # that has it at all (present, even empty).
            # (``attr`` written out: the spelling as written, then the other cases.)
            while element is not None:
                value = element.get(attribute)
                if value is None:
                    value = self.attr_other_case(element, attribute.lower())
                if value is not None:
                    return value
                element = element.getparent()
            return None
        # A named element: the starting element or its nearest ancestor of that name, else
        # the record's first element of that name.
        name = self.compiled.aliases.get(name, name)
        while element is not None and element.tag != name:
            element = element.getparent()
        if element is None:
            element = self.first_named(name)
        if element is None:
            return None
        value = element.get(attribute)
        return value if value is not None else self.attr_other_case(element, attribute.lower())

def _all_rows(doc: _Document) -> list[tuple[TablePlan, list[tuple]]]:
    """Every table's rows, in the compiled (insertion) order.

    Rows of repeating-element tables are decided in two steps: first which
    instances have a real value, then which are kept because a row of one of
    their child instances is written (a child row never points at a parent
    row that was not written). Only then does the null rule run.
    """
    compiled = doc.compiled
    candidates: dict[int, list] = {}
    for plan in compiled.plans:
        if plan.kind == REPEAT:
            row_values = plan.row_values
            try:
                candidates[id(plan)] = [(element, *row_values(doc, element))
                                        for element in doc.inst[plan.row_node.id]]
            except ValueRangeError as error:
                raise _out_of_range(plan, error) from None
    written: dict[int, set] = {}

    def emitted(plan: TablePlan) -> set:
        found = written.get(id(plan))
        if found is None:
            found = {element for element, _, real in candidates[id(plan)] if real}
            for child in plan.children:
                depth = len(child.row_node.path) - len(plan.row_node.path)
                for element in emitted(child):
                    for _ in range(depth):
                        element = element.getparent()
                    found.add(element)
            written[id(plan)] = found
        return found

    result = []
    for plan in compiled.plans:
        try:
            kind = plan.kind
            if kind == REPEAT:
                keep = emitted(plan)
                finish = plan.finish_row
                rows = [finish(doc, element, values)
                        for element, values, _ in candidates[id(plan)] if element in keep]
            elif kind in (ROWS, POLICY, GROUPS):
                rows = plan.row_values(doc, None)
            else:
                values, real = plan.row_values(doc, None)
                rows = [plan.finish_row(doc, None, values)] if real or kind == ROOT else []
        except ValueRangeError as error:
            raise _out_of_range(plan, error) from None
        result.append((plan, rows))
    return result


def _out_of_range(plan: TablePlan, error: ValueRangeError) -> _Failed:
    """The record's failure for a value that does not fit its column (no value in it)."""
    return _Failed("map", f"table={plan.table.name} {error}")


def _missing_value(label: str) -> None:
    """Fail the record: a written row's non-nullable column is empty and has no default."""
    raise _Failed("map", f"{label}: the value is empty, the column is not nullable and has no "
                         "default_value")


def table_reader(plan: TablePlan):
    """The generated row code of ``plan`` (``row_source``), made once at compile time:
    ``row_values(doc, row) -> (values, has_real)`` for ROOT, SINGLE and REPEAT tables,
    ``row_values(doc, None) -> rows`` for key/value, policy-exception and group tables."""
    kind = plan.kind
    if kind in (ROOT, SINGLE, REPEAT):
        return generate_table(plan).function
    if kind == ROWS:
        return generate_key_value_table(plan, _key_value_row).function
    if kind == POLICY:
        return generate_policy_table(plan).function
    return generate_group_table(plan, _makes_row, _missing_cell).function


def row_finisher(plan: TablePlan):
    """``finish(doc, element, values) -> row`` for ``plan``'s written rows, generated
    (``row_source.generate_finish``) once its ``parent_anchor`` is known: foreign key,
    defaults (each counted as ``defaulted``) and the null rule."""
    return generate_finish(plan, _parent_value, _missing_value).function


def column_reader(column: ColumnPlan):
    """``value_of(doc, row) -> value``: a column's value for a child row's foreign key,
    generated (``row_source.generate_column_value``); it counts no warning (the column's
    own row counted them)."""
    return generate_column_value(column).function


def parent_anchor(plan: TablePlan, record_key_column: str) -> int:
    """How a row of ``plan`` finds its foreign key, decided once at compile time: the
    record key (``RECORD_KEY``), or the parent row's value from no element
    (``NO_ANCHOR``: the parent is no repeating table), from the parent table's first
    instance (``FIRST_INSTANCE``), or from the row's element that many levels up."""
    relationship = plan.relationship
    if relationship is None or plan.parent is None \
            or relationship.foreign_key_column == record_key_column:
        return RECORD_KEY
    parent = plan.parent
    if parent.kind != REPEAT:
        return NO_ANCHOR
    parent_path = parent.row_node.path
    if plan.row_node is not None and plan.row_node.path[: len(parent_path)] == parent_path:
        return len(plan.row_node.path) - len(parent_path)
    return FIRST_INSTANCE


def _parent_value(doc: _Document, plan: TablePlan, element):
    """The foreign key of a row: the record key, or the column of the enclosing parent row."""
    rule = plan.parent_anchor
    if rule == RECORD_KEY:
        return doc.key
    parent = plan.parent
    anchor = None
    if rule >= 0 and element is not None:
        anchor = element
        for _ in range(rule):
            anchor = anchor.getparent()
    elif rule != NO_ANCHOR:
        instances = doc.inst[parent.row_node.id]
        anchor = instances[0] if instances else None
    name = plan.relationship.foreign_key_column
    cache_key = (parent.table.name, anchor)
    if cache_key in doc.parent_values:
        return doc.parent_values[cache_key]
    column = next(c for c in parent.columns if c.column.name == name)
    if column.parent_key:
        value = _parent_value(doc, parent, anchor)
    else:
        value = column.value_of(doc, anchor)
        if value is None and column.default is not NO_DEFAULT:
            value = column.default
    doc.parent_values[cache_key] = value
    return value


def _key_value_row(doc: _Document, field: FieldPlan, text: str) -> tuple | None:
    """The row a key/value field's non-empty ``text`` makes, if any (both paths call this)."""
    step = field.row_step
    if step == "add_indicator":
        return (doc.key, field.row_argument, "1") if text.casefold() in INDICATOR_TRUE else None
    if step == "add_history" and text.casefold() in HISTORY_EMPTY:
        return None
    try:
        value, truncated = convert_value(text, field.column)
    except ValueRangeError:
        value, truncated = None, False
    if truncated:
        doc.warn(field.truncated_warning)
    if value is None:
        doc.warn(field.unconvertible_warning)
        return None
    if step == "add_score":
        return (doc.key, field.row_argument, value)
    canonical = format_canonical(value, field.column.data_type, field.column.data_length)
    text_value = canonical if isinstance(canonical, str) else str(canonical)
    if step == "add_history":
        return (doc.key, field.history_name, field.history_source, text_value)
    return (doc.key, field.attribute or field.node.tag, text_value, field.row_argument)


def _missing_cell(plan: TablePlan, column) -> None:
    """Fail the record: a written group row's non-nullable string cell is empty, with no default."""
    raise _Failed("map", f"table={plan.table.name} column={column.name}: the value is empty, the "
                         "column is not nullable and has no default_value")


def _makes_row(value: object, column) -> bool:
    if value is None:
        return False
    if column.data_type in NUMERIC_TYPES:
        return value != 0
    return not (isinstance(value, str) and value.casefold() in HISTORY_EMPTY)
