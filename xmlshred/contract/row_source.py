"""Every table's row code as generated Python source, once per contract.

This is the one run-time implementation of the value pipeline (CONTRACT.md:
read, strip, steps, convert, count what changed) and of the rows rules: the
mapper runs a function generated here for every table. Row-per-record and
row-per-instance tables: ``values(doc, row) -> (values, has_real)`` and
``finish(doc, element, values) -> row``; key/value, policy-exception and group
tables: ``rows(doc, row) -> rows``; a foreign key read from its parent's
column: ``value_of(doc, row) -> value``. Each record-level element a function
reads is found once at the top; every field is written out in line with the
decisions made at compile time (which element, which steps, which converter,
which warnings); other places go through ``_Document.locate``.

Generated code never contains a document value, and contract values never
enter it as text: constants (names, labels, tables, helpers, readers) live
in the function's namespace under generated names (``k0`` ...) and the source
only names them. ``Generated.source`` is the readable text, for debugging. Tests map
generated corpora and every conformance suite both with this code and with a
plain reference of the rules (tests/unit/oracle.py) and compare the records.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from xmlshred.contract.expression_source import generated_for
from xmlshred.contract.generated import Constants, Generated, define
from xmlshred.contract.plans import (
    BOOLEAN_TO_BIT,
    CALCULATED,
    CHAR_TO_BIT,
    CONTACT,
    DEFAULTED,
    ENUM,
    EXTRACT_DATE,
    EXTRACT_NUMERIC,
    HISTORY_EMPTY,
    INDICATOR_TRUE,
    NO_DEFAULT,
    NUMBERS_ONLY,
    NUMERIC_TYPES,
    RECORD,
    RECORD_KEY,
    SELF,
    UTC_IF_NULL,
    ZERO,
    ColumnPlan,
    FieldPlan,
    TablePlan,
)
from xmlshred.contract.values import (
    BIT_SPELLINGS,
    CONVERSION_MEMO_SIZE,
    DECIMAL_CONTEXT,
    INTEGER_RANGES,
    MAX_DECIMAL_DIGITS,
    MISSING,
    QUANTUMS,
    ValueRangeError,
    conversion_memo,
    convert_value,
    converter,
    extract_numeric,
    numbers_only,
    parse_datetime,
)

__all__ = ["generate_column_value", "generate_finish", "generate_group_table",
           "generate_key_value_table", "generate_policy_table", "generate_table"]


def _ignore(label: str) -> None:
    """The ``warn`` of code whose warnings were counted elsewhere."""


def generate_table(plan: TablePlan) -> Generated:
    """Generate ``plan``'s row builder: every column's fields, first value wins."""
    writer = _Writer()
    body = []
    for position, column in enumerate(plan.columns):
        body.append(f"    # column {position}: {column.column.name!r}")
        if not column.fields:
            body.append(f"    c{position} = None")
            continue
        if len(column.fields) == 1 and _plain_string(column.fields[0]):
            # The commonest column: written straight to its variable, no ``value, real``.
            body.extend(writer.plain_string(column.fields[0], f"c{position}", "    "))
            continue
        body.extend(writer.column(column.fields, "    "))
        body.append("    if real:")
        body.append("        has_real = True")
        body.append(f"    c{position} = value")
    lines = writer.header(f"def values(doc, row):  # {plan.table.name!r}", "    has_real = False")
    lines.extend(body)
    lines.append("    return [" + ", ".join(f"c{p}" for p in range(len(plan.columns))) + "], has_real")
    return define(lines, "table", writer.names, "values")


def generate_key_value_table(plan: TablePlan, make_row) -> Generated:
    """Generate the rows builder of a key/value table (scores, indicators, history ...):
    ``rows(doc, row) -> rows``, each field's text read and stepped in line, and
    ``make_row(doc, field, text)`` (the mapper's) making the row of each non-empty text
    that the usual shortcut does not."""
    writer = _Writer()
    body = []
    for number, field in enumerate(plan.fields):
        body.append(f"    # field {number}")
        constant = writer.constant(field)
        body.extend(writer.text(field, "    "))
        body.append("    if text:")
        indent = "        "
        fast = _key_value_fast_path(writer, field)
        if fast is not None:
            test, row = fast
            body.append(f"{indent}if {test}:")
            body.append(f"{indent}    found.append({row})")
        if fast is None or field.row_step != "add_indicator":  # an indicator has no other row
            if fast is not None:
                body.append(f"{indent}else:")
                indent += "    "
            body.append(f"{indent}made = {writer.constant(make_row)}(doc, {constant}, text)")
            body.append(f"{indent}if made is not None:")
            body.append(f"{indent}    found.append(made)")
    return define(writer.header(f"def rows(doc, row):  # {plan.table.name!r}",
                                "    found = []", "    key = doc.key") + body + ["    return found"],
                  "table", writer.names, "rows")


def generate_policy_table(plan: TablePlan) -> Generated:
    """Generate the rows builder of a policy-exception table: ``rows(doc, row) -> rows``,
    a row ``(key, N, reason_code, notes)`` per ``policy_exceptions(N)`` field whose text is
    real (non-empty, not ``null``/``none``), every row with the notes of the
    ``policy_exceptions()`` field; both cut to the mapping's length (counted)."""
    writer = _Writer()
    body = ["    notes = None"]
    fields = ([plan.notes] if plan.notes is not None else []) + list(plan.fields)
    for number, field in enumerate(fields):
        notes = field is plan.notes
        body.append(f"    # {'notes' if notes else f'exception {number}'}")
        body.extend(writer.text(field, "    "))
        body.append(f"    if text and text.casefold() not in {writer.constant(HISTORY_EMPTY)}:")
        convert, column = writer.constant(convert_value), writer.constant(field.column)
        body.append(f"        value, truncated = {convert}(text, {column})")
        body.append("        if truncated:")
        body.append(f"            warn({writer.constant(field.truncated_warning)})")
        if notes:
            body.append("        notes = value")
        else:
            body.append(f"        found.append((key, {writer.constant(field.row_argument)}, value, notes))")
    return define(writer.header(f"def rows(doc, row):  # {plan.table.name!r}",
                                "    found = []", "    key = doc.key") + body + ["    return found"],
                  "table", writer.names, "rows")


def generate_column_value(column: ColumnPlan) -> Generated:
    """Generate ``value_of(doc, row) -> value``: the column's value for ``row`` (which may be
    None), its first field with a value, counting no warning (its row counted them)."""
    writer = _Writer(row_optional=True)
    body = writer.column(column.fields, "    ")
    lines = writer.header(f"def value_of(doc, row):  # {column.label!r}",
                          f"    warn = {writer.constant(_ignore)}")
    return define(lines + body + ["    return value"], "column", writer.names, "value_of")


def generate_group_table(plan: TablePlan, makes_row, missing) -> Generated:
    """Generate the rows builder of a group table (``warranty_field(N)`` / ``add_collateral(N)``):
    ``rows(doc, row) -> rows``, each cell's field read in line as in a row builder.
    ``makes_row(value, column)`` (the mapper's) decides whether a read cell makes its group's
    row (a value read from the document: not an expression, a bit conversion or a default;
    non-empty, not ``null``/``none``, not 0 in a numeric column); in a written row an empty
    cell takes its default (counted), an empty non-nullable numeric cell 0 (counted too), and
    ``missing(plan, column)`` raises the failure of an empty non-nullable string cell."""
    writer = _Writer()
    body = []
    for number, group in enumerate(plan.groups):
        body.append(f"    # group {number}")
        body.append("    makes_row = False")
        names = []
        for position, (field, column, _default) in enumerate(group.cells):
            name = f"g{position}"
            names.append(name)
            if field is None:
                body.append(f"    {name} = None")
                continue
            body.extend(writer.column([field], "    "))
            body.append(f"    {name} = value")
            if field.reads_document:
                body.append("    if real and not makes_row:")
                body.append(f"        makes_row = {writer.constant(makes_row)}(value, {writer.constant(column)})")
        body.append("    if makes_row:")
        for name, (_field, column, default) in zip(names, group.cells, strict=True):
            if default is not NO_DEFAULT:
                body.append(f"        if {name} is None:")
                body.append(f"            {name} = {writer.constant(default)}")
                body.append(f"            warn({writer.constant(f'{DEFAULTED}:{plan.table.name}.{column.name}')})")
            elif not column.nullable:
                body.append(f"        if {name} is None:")
                if column.data_type in NUMERIC_TYPES:  # the schemas' DEFAULT 0: counted as a default
                    body.append(f"            {name} = {writer.constant(ZERO.get(column.data_type, 0))}")
                    body.append(f"            warn({writer.constant(f'{DEFAULTED}:{plan.table.name}.{column.name}')})")
                else:
                    body.append(f"            {writer.constant(missing)}({writer.constant(plan)}, "
                                f"{writer.constant(column)})")
        row = ", ".join(["key", writer.constant(group.argument), *names])
        body.append(f"        found.append(({row}))")
    return define(writer.header(f"def rows(doc, row):  # {plan.table.name!r}",
                                "    found = []", "    key = doc.key") + body + ["    return found"],
                  "table", writer.names, "rows")


def generate_finish(plan: TablePlan, parent_value, missing_value) -> Generated:
    """Generate ``finish(doc, element, values) -> row`` for a row of ``plan`` that is written:
    what ``mapper._finish`` does, one statement per finishing column. The foreign key is the
    record key, or ``parent_value(doc, plan, element)``; an empty column takes its default,
    or ``missing_value(label)`` raises the failure of a non-nullable one."""
    names = Constants()
    lines = [f"def finish(doc, element, values):  # {plan.table.name!r}"]
    for position, column in plan.finishing:
        cell = f"values[{position}]"
        if column.parent_key:
            if plan.parent_anchor == RECORD_KEY:
                lines.append(f"    {cell} = doc.key")
            else:
                lines.append(f"    {cell} = {names.name(parent_value)}(doc, {names.name(plan)}, element)")
        if column.default is not NO_DEFAULT:  # a written row always takes the default
            lines.append(f"    if {cell} is None:")
            lines.append(f"        {cell} = {names.name(column.default)}")
            lines.append(f"        doc.warn({names.name(column.defaulted_warning)})")
        elif not column.column.nullable:
            lines.append(f"    if {cell} is None:")
            lines.append(f"        {names.name(missing_value)}({names.name(column.label)})")
    lines.append("    return tuple(values)")
    return define(lines, "finish", names, "finish")


def _key_value_fast_path(writer: _Writer, field: FieldPlan) -> tuple[str, str] | None:
    """(test, row) for the usual text of a key/value field: when ``test`` holds, ``row``
    is the row ``make_row`` would make (no conversion, no warning); otherwise the text
    goes to ``make_row``. An indicator's text that fails the test makes no row. None
    when the field has no such shortcut."""
    step, column = field.row_step, field.column
    argument = writer.constant(field.row_argument)
    if step == "add_indicator":
        return f"text.casefold() in {writer.constant(INDICATOR_TRUE)}", f"(key, {argument}, '1')"
    if step == "add_score" and column.data_type in INTEGER_RANGES:
        high = writer.constant(INTEGER_RANGES[column.data_type][1])
        return (f"len(text) < 19 and text.isascii() and text.isdigit() and (value := int(text)) <= {high}",
                f"(key, {argument}, value)")
    if step in ("add_history", "add_report_lookup") and column.data_type == "string":
        test = f"len(text) <= {writer.constant(column.data_length)}" if column.data_length and column.data_length > 0 \
            else "True"
        if step == "add_history":
            test += f" and text.casefold() not in {writer.constant(HISTORY_EMPTY)}"
            return test, (f"(key, {writer.constant(field.history_name)}, "
                          f"{writer.constant(field.history_source)}, text)")
        return test, (f"(key, {writer.constant(field.attribute or field.node.tag)}, text, "
                      f"{argument})")
    return None


_ABSENT = object()
"""A word missing from a step's exact-case table (``word_step``)."""


def _converted_words(field: FieldPlan, words: dict) -> dict:
    """Each word of a step's table with the column value its step value converts to, or
    ``MISSING`` where that is no value or warns (the step and conversion then run)."""
    converted = {}
    for word, step in words.items():
        text = "" if step is None else str(step)
        value = MISSING
        if text:
            try:
                result, truncated = convert_value(text, field.column)
            except ValueRangeError:
                result, truncated = None, False
            if result is not None and not truncated:
                value = result
        converted[word] = value
    return converted


def _plain_string(field: FieldPlan) -> bool:
    """A text straight from the document to a string column: no steps, no selector."""
    return not field.steps and not field.selector and field.column.data_type == "string"


def _row_independent_place(field: FieldPlan) -> tuple | None:
    """What decides where ``_Document.locate`` finds ``field`` when that is not the row:
    the record's first instance of a typed node, or a contact pick (and the path below
    it); None for places that depend on the row."""
    if field.where == RECORD:
        return ("record", field.node.id, field.typed)
    if field.where == CONTACT:
        wanted, below = field.where_arg
        return ("contact", wanted, tuple(node.id for node in below))
    return None


class _Writer:
    def __init__(self, row_optional: bool = False) -> None:
        self.row_optional = row_optional
        """``row`` may be None (a foreign key's parent instance that is not there)."""
        self.names = Constants()
        self.elements: dict[int, str] = {}
        self.located: dict[tuple, tuple[str, str]] = {}  # place -> (variable, field constant)
        self.lowered: list[str] = []  # variables of lowered attribute names
        self.uses_now = False

    def constant(self, value: object) -> str:
        return self.names.name(value)

    def header(self, signature: str, *first: str) -> list[str]:
        """A generated function's first lines: ``warn`` (unless ``first`` sets it), the given
        lines, the elements found once (``element_lines``) and ``now`` when code reads it."""
        lines = [signature]
        if not any(line.lstrip().startswith("warn =") for line in first):
            lines.append("    warn = doc.warn")
        lines.extend(first)
        lines.extend(self.element_lines())
        if self.uses_now:
            lines.append("    now = doc.compiled.now")
        return lines

    def text(self, field: FieldPlan, indent: str) -> list[str]:
        """Code that sets ``text``: the field's text after its steps, unconverted (a selector
        that found no instance gives '' and runs no step)."""
        lines: list[str] = []
        element, inner = self.located_element(field, indent, lines, "text = ''")
        lines.extend(self.raw_text(field, element, inner))
        lines.append(f"{inner}real = {field.counts_as_real!r}")
        lines.extend(self.steps(field, list(field.steps), element, inner))
        return lines

    def located_element(self, field: FieldPlan, indent: str, lines: list[str], if_none: str
                        ) -> tuple[str, str]:
        """The field's element variable (``element``) and the indent of the code that reads it: a
        selector may find no instance, and then only ``if_none`` runs (no step)."""
        element = self.element(field, indent, lines)
        if not field.selector:
            return element, indent
        lines.append(f"{indent}if {element} is None:")
        lines.append(f"{indent}    {if_none}")
        lines.append(f"{indent}else:")
        return element, indent + "    "

    def element_lines(self) -> list[str]:
        """The record's first instances the code reads, found once at the top (and the
        variables for their lowered attribute names, read at the first miss)."""
        lines = []
        for node_id, name in self.elements.items():
            lines.append(f"    {name} = doc.inst[{node_id}]")
            lines.append(f"    {name} = {name}[0] if {name} else None")
        for name, field in self.located.values():
            lines.append(f"    {name} = doc.locate({field}, None)")
        lines.extend(f"    {names} = None" for names in self.lowered)
        return lines

    def names_of(self, element: str) -> str:
        """The variable for ``element``'s lowered attribute names (``_Document.lowered_names``)."""
        names = f"n{element}"
        if names not in self.lowered:
            self.lowered.append(names)
        return names

    def raw_text(self, field: FieldPlan, element: str, indent: str, strip: bool = True) -> list[str]:
        """Code that sets ``text``: the field's attribute (its name matched as
        ``_Document.attr`` does) or element text, stripped; '' when there is none
        (only ``raw``, the text as it is or None, when ``strip`` is off)."""
        lines = []
        # A row's own element is always there; another may be missing.
        always = element == "row" and not self.row_optional
        present = "" if always else f" and {element} is not None"
        otherwise = "" if always else f" if {element} is not None else None"
        name = field.attribute
        if name is None:
            lines.append(f"{indent}raw = {element}.text{otherwise}")
        else:
            key, lower = self.constant(name), self.constant(field.attribute_lower)
            lines.append(f"{indent}raw = {element}.get({key}){otherwise}")
            if element == "element":  # found for this field alone
                lines.append(f"{indent}if raw is None{present}:")
            else:
                # The usual miss is an absent name: one search in the element's lowered
                # names (read at the first miss) instead of a call.
                names = self.names_of(element)
                needle = self.constant("\0" + field.attribute_lower + "\0")
                lines.append(f"{indent}if raw is None{present} and "
                             f"{needle} in ({names} or ({names} := doc.lowered_names({element}))):")
            lines.append(f"{indent}    raw = doc.attr_other_case({element}, {lower})")
        if strip:
            lines.append(f"{indent}text = raw.strip() if raw else ''")
        return lines

    def column(self, fields: list[FieldPlan], indent: str) -> list[str]:
        """Code that sets ``value, real`` from the first field with a value."""
        lines = self.field(fields[0], indent)
        if len(fields) > 1:
            lines.append(f"{indent}if value is None:")
            lines.extend(self.column(fields[1:], indent + "    "))
        return lines

    def element(self, field: FieldPlan, indent: str, lines: list[str]) -> str:
        """The variable holding the field's element: the row's own, the record's first
        instance or another place that does not depend on the row (found once per row, at
        the top), or one found by ``_Document.locate`` here."""
        if field.where == SELF:
            return "row"
        if field.where == RECORD and not field.typed:
            node_id = field.node.id
            name = self.elements.get(node_id)
            if name is None:
                name = self.elements[node_id] = f"e{node_id}"
            return name
        place = _row_independent_place(field)
        if place is not None:
            # The same element for every field placed so: located once, at the top.
            found = self.located.get(place)
            if found is None:
                found = self.located[place] = (f"p{len(self.located)}", self.constant(field))
            return found[0]
        lines.append(f"{indent}element = doc.locate({self.constant(field)}, row)")
        return "element"

    def field(self, field: FieldPlan, indent: str) -> list[str]:
        codes = tuple(code for code, _ in field.steps)
        if CALCULATED in codes and field.expression is None:  # pragma: no cover - the loader forbids it
            raise ValueError(f"{field.label}: calculated_field without an expression")
        lines: list[str] = []
        element, inner = self.located_element(field, indent, lines, "value, real = None, False")
        if codes == (CALCULATED,):
            # A calculated field's value is the expression's alone: a non-empty result is the
            # value, an empty one is no value (the mapped text is never read).
            lines.append(f"{inner}text = {self.calculated(field, element)}")
            lines.append(f"{inner}real = {not field.is_key!r}")
        elif not field.steps and field.column.data_type == "string":
            # The commonest field: a plain text, straight from the document to the column.
            lines.extend(self.raw_text(field, element, inner, strip=False))
            lines.append(f"{inner}if raw and (value := raw.strip()):")
            lines.append(f"{inner}    real = {field.counts_as_real!r}")
            lines += self.truncation(field, "value", inner + "    ")
            lines.append(f"{inner}else:")
            lines.append(f"{inner}    value, real = None, False")
            return lines
        elif len(codes) == 1 and codes[0] in (ENUM, CHAR_TO_BIT, BOOLEAN_TO_BIT):
            lines.extend(self.raw_text(field, element, inner))
            lines.append(f"{inner}real = {field.counts_as_real!r}")
            lines.extend(self.word_step(field, element, inner))
            return lines
        else:
            lines.extend(self.raw_text(field, element, inner))
            lines.append(f"{inner}real = {field.counts_as_real!r}")
            lines.extend(self.steps(field, list(field.steps), element, inner))
        lines.extend(self.convert(field, inner))
        return lines

    def word_step(self, field: FieldPlan, element: str, indent: str) -> list[str]:
        """A lone enum, char_to_bit or boolean_to_bit step and the conversion after it: a
        word of its tables takes the column value worked out for it at compile time (when
        converting it is clean: a value, no warning); any other text (unknown, empty, or a
        word whose conversion warns) runs the step and the conversion as written."""
        code, payload = field.steps[0]
        missing = self.constant(MISSING)
        lines = []
        if code == BOOLEAN_TO_BIT:
            folded = self.constant(_converted_words(field, payload[0]))
            lines.append(f"{indent}value = {folded}.get(text.casefold(), {missing}) if text else {missing}")
        else:
            table, folded = payload[0], payload[1]
            # A word of the table with no value falls through to the folded table, as in the step.
            exact = self.constant(_converted_words(field, {word: step for word, step in table.items()
                                                           if step is not None}))
            absent = self.constant(_ABSENT)
            lines += [f"{indent}value = {exact}.get(text, {absent}) if text else {missing}",
                      f"{indent}if value is {absent}:",
                      f"{indent}    value = {self.constant(_converted_words(field, folded))}"
                      f".get(text.casefold(), {missing})"]
        lines.append(f"{indent}if value is {missing}:")
        lines.extend(self.step(field, code, payload, indent + "    "))
        lines.extend(self.convert(field, indent + "    "))
        return lines

    def truncation(self, field: FieldPlan, name: str, indent: str) -> list[str]:
        """Lines cutting the text in ``name`` to the column's length, with the truncation warning
        (none for a column without a positive length)."""
        length = field.column.data_length
        if not length or length <= 0:
            return []
        return [f"{indent}if len({name}) > {self.constant(length)}:",
                f"{indent}    warn({self.constant(field.truncated_warning)})",
                f"{indent}    {name} = {name}[:{self.constant(length)}]"]

    def plain_string(self, field: FieldPlan, target: str, indent: str) -> list[str]:
        """A column of one ``_plain_string`` field: what ``field`` and ``generate_table``
        write for it, setting ``target`` and ``has_real`` directly."""
        lines: list[str] = []
        element = self.element(field, indent, lines)
        lines.extend(self.raw_text(field, element, indent, strip=False))
        lines.append(f"{indent}if raw and ({target} := raw.strip()):")
        if field.counts_as_real:
            lines.append(f"{indent}    has_real = True")
        truncation = self.truncation(field, target, indent + "    ")
        lines += truncation
        if not truncation and not field.counts_as_real:
            lines.append(f"{indent}    pass")
        lines.append(f"{indent}else:")
        lines.append(f"{indent}    {target} = None")
        return lines

    def calculated(self, field: FieldPlan, element: str) -> str:
        """The code of a calculated field's stripped result text."""
        self.uses_now = True
        text_of = self.constant(generated_for(field.expression).third)
        # A row's own element is always there; another may be missing.
        start = element if element == "row" and not self.row_optional else \
            f"{element} if {element} is not None else doc.start_of({self.constant(field)}, row)"
        # The expression's own text function: its result as text, remembered by its inputs.
        return f"{text_of}(doc, {start}, now)"

    def steps(self, field: FieldPlan, steps: list, element: str, indent: str) -> list[str]:
        """The value steps in order, as ``_Document.text`` runs them: a non-empty
        expression result is the value and ends the chain; an empty one leaves the
        mapping's own text to the next steps (or no value when it was the last)."""
        lines = []
        for index, (code, payload) in enumerate(steps):
            if code != CALCULATED:
                lines.extend(self.step(field, code, payload, indent))
                continue
            lines.append(f"{indent}result = {self.calculated(field, element)}")
            lines.append(f"{indent}if result:")
            lines.append(f"{indent}    text, real = result, {not field.is_key!r}")
            lines.append(f"{indent}else:")
            rest = self.steps(field, steps[index + 1:], element, indent + "    ")
            lines.extend(rest or [f"{indent}    text, real = '', False"])
            break
        return lines

    def step(self, field: FieldPlan, code: int, payload, indent: str) -> list[str]:
        """One value step on ``text, real`` in line, as the mapper's step function of the
        same code does it (that function is called for a code not written out here)."""
        if code in (NUMBERS_ONLY, EXTRACT_NUMERIC, EXTRACT_DATE):
            helper = {NUMBERS_ONLY: numbers_only, EXTRACT_NUMERIC: extract_numeric,
                      EXTRACT_DATE: parse_datetime}[code]
            if code != EXTRACT_DATE:
                return [f"{indent}if text:",
                        f"{indent}    text = {self.constant(helper)}(text)",
                        f"{indent}    if not text:",
                        f"{indent}        warn({self.constant(field.not_a_number_warning)})"]
            return [f"{indent}if text:",
                    f"{indent}    moment = {self.constant(helper)}(text)",
                    f"{indent}    if moment is None:",
                    f"{indent}        warn({self.constant(field.bad_date_warning)})",
                    f"{indent}        text = ''",
                    f"{indent}    else:",
                    f"{indent}        text = moment.isoformat(' ')"]
        if code == UTC_IF_NULL:
            return [f"{indent}if not text:", f"{indent}    text, real = doc.compiled.now_text, False"]
        if code in (ENUM, CHAR_TO_BIT):
            table, folded, empty = payload
            lines = [f"{indent}if text:",
                     f"{indent}    step = {self.constant(table)}.get(text)",
                     f"{indent}    if step is None:",
                     f"{indent}        step = {self.constant(folded)}.get(text.casefold())"]
            if code == ENUM:
                # An unknown (counted) or empty text takes the empty value, which is never real.
                return lines + [f"{indent}        if step is None:",
                                f"{indent}            warn({self.constant(field.unmapped_warning)})",
                                f"{indent}else:",
                                f"{indent}    step = None",
                                f"{indent}if step is None:",
                                f"{indent}    step = {self.constant(empty)}",
                                f"{indent}    real = False",
                                f"{indent}text = '' if step is None else str(step)"]
            lines += [f"{indent}    if step is None:",
                      f"{indent}        step = 0",
                      f"{indent}        warn({self.constant(field.unmapped_warning)})",
                      f"{indent}    text = str(step)"]
        elif code == BOOLEAN_TO_BIT:
            folded, empty = payload
            lines = [f"{indent}if text:",
                     f"{indent}    step = {self.constant(folded)}.get(text.casefold())",
                     f"{indent}    if step is None:",
                     f"{indent}        step = 0",
                     f"{indent}        warn({self.constant(field.unmapped_warning)})",
                     f"{indent}    text = str(step)"]
        else:  # pragma: no cover - every step code but calculated_field is written above
            raise ValueError(f"{field.label}: no code for step {code}")
        if empty is not None:
            lines += [f"{indent}else:", f"{indent}    text, real = {self.constant(str(empty))}, False"]
        return lines

    def convert(self, field: FieldPlan, indent: str) -> list[str]:
        """``text`` to ``value`` by the column's type: a string cut to its length, anything
        else its type's converter (the usual texts in line), each change counted.

        Decimals, floats, dates and datetimes (which never truncate) are looked up first in
        the type's ``conversion_memo``, and stored there when converted."""
        column = field.column
        if column.data_type not in ("decimal", "float", "date", "datetime"):
            return self.conversion(field, indent)
        memo = self.constant(conversion_memo(column.data_type, column.data_length))
        missing = self.constant(MISSING)
        inner = indent + "    "
        return [f"{indent}if not text:",
                f"{indent}    value, real = None, False",
                f"{indent}elif (value := {memo}.get(text, {missing})) is {missing}:",
                *self.conversion(field, inner, empty=False),
                f"{inner}if len({memo}) >= {self.constant(CONVERSION_MEMO_SIZE)}:",
                f"{inner}    {memo}.clear()",
                f"{inner}{memo}[text] = value",
                f"{indent}elif value is None:",
                f"{indent}    warn({self.constant(field.unconvertible_warning)})",
                f"{indent}    real = False"]

    def conversion(self, field: FieldPlan, indent: str, empty: bool = True) -> list[str]:
        """The conversion itself: ``value`` from ``text`` (which may be empty only if ``empty``)."""
        branches = self.conversion_branches(field)
        if empty:
            branches.insert(0, ("not text", ["value, real = None, False"]))
        condition, body = branches[0]
        if condition is None:  # only an ``else``: its body is the whole conversion
            return [f"{indent}{line}" for line in body]
        lines = []
        for number, (condition, body) in enumerate(branches):
            if condition is None:
                lines.append(f"{indent}else:")
            else:
                lines.append(f"{indent}{'elif' if number else 'if'} {condition}:")
            lines += [f"{indent}    {line}" for line in body]
        return lines

    def conversion_branches(self, field: FieldPlan) -> list[tuple[str | None, list[str]]]:
        """The branches after the test for an empty text: (condition, body lines), the
        condition None for the closing ``else``; the body lines relative to their branch."""
        column = field.column
        if column.data_type == "string":
            length = column.data_length if column.data_length and column.data_length > 0 else None
            if length is None:
                return [(None, ["value = text"])]
            return [(f"len(text) > {self.constant(length)}",
                     [f"warn({self.constant(field.truncated_warning)})",
                      f"value = text[:{self.constant(length)}]"]),
                    (None, ["value = text"])]
        if column.data_type in ("date", "datetime"):
            # What the converter does (parse_datetime, the date of it; never truncated), in line.
            date = ".date()" if column.data_type == "date" else ""
            return [(f"(value := {self.constant(parse_datetime)}(text)) is not None",
                     [f"value = value{date}" if date else "pass"]),
                    (None, [f"warn({self.constant(field.unconvertible_warning)})", "real = False"])]
        convert = self.constant(converter(column.data_type))
        branches: list[tuple[str | None, list[str]]] = []
        if column.data_type in INTEGER_RANGES:
            # Plain digits within the type's bound, in line (never below its low bound).
            high = self.constant(INTEGER_RANGES[column.data_type][1])
            branches.append((f"len(text) < 19 and text.isascii() and text.isdigit() "
                             f"and (value := int(text)) <= {high}", ["pass"]))
        elif column.data_type in ("bit", "boolean"):
            branches.append((f"(value := {self.constant(BIT_SPELLINGS)}.get(text)) is not None", ["pass"]))
        elif column.data_type == "decimal" and (column.data_length or 0) + 20 <= MAX_DECIMAL_DIGITS:
            # Plain digits with at most one point, at most 20 characters: parse_number's
            # exact Decimal, within 38 digits at any scale this column has, then quantized
            # as the converter does (its other checks cannot fail here).
            # The text has no sign, so ``_quantize``'s negative-zero rule never applies: its
            # quantize is called here directly (the same quantum, rounding and context).
            exact = f"{self.constant(Decimal)}(text)"
            places = column.data_length
            if places is not None:
                quantum = QUANTUMS.get(places)
                if quantum is None:
                    quantum = Decimal(1).scaleb(-places)
                exact = (f"{exact}.quantize({self.constant(quantum)}, {self.constant(ROUND_HALF_UP)}, "
                         f"{self.constant(DECIMAL_CONTEXT)})")
            branches.append(("len(text) <= 20 and text.isascii() and text.replace('.', '', 1).isdigit()",
                             [f"value = {exact}"]))
        branches.append((None, [f"value, truncated = {convert}(text, {self.constant(column)})",
                                "if truncated:",
                                f"    warn({self.constant(field.truncated_warning)})",
                                "if value is None:",
                                f"    warn({self.constant(field.unconvertible_warning)})",
                                "    real = False"]))
        return branches
