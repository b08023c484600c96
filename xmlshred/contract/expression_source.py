"""Calculated-field expressions compiled to Python source, once per contract.

``expressions.py`` parses an expression into a tree; a function generated
here from that tree evaluates it: one ``def`` whose body is a single
Python expression, with each attribute read once, the CASE branches as
conditional expressions, AND/OR/NOT as Python's, and comparisons specialised
to what is known of their operands when the contract is compiled (text
against a plain-text literal is one ``casefold`` and one ``==``).

Generated code never contains a document value, and contract values never
enter it as text: every constant (literal, folded call, compiled pattern,
helper) lives in the function's namespace under a generated name
(``k0``, ``k1`` ...), and the source only names it. Attribute and element
names are identifiers by the grammar and appear as ``repr`` literals.
``Generated.source`` is the readable text, for debugging and tests.

This is the only evaluator of expressions: ``evaluate`` runs the
``expression`` function generated here, the row builders its
``text_from_element``. Each value-level rule is a helper of ``expressions.py``
(``compare_values``, ``as_number``, ``call_value`` ...) that the generated code calls,
or whose usual cases it writes in line; tests check every contract expression
against a small tree-walking reference in tests/unit/oracle.py.
"""

from __future__ import annotations

from decimal import Decimal

from xmlshred.contract import expressions as ex
from xmlshred.contract.generated import Constants, Generated, define
from xmlshred.contract.values import parse_datetime

__all__ = ["generate"]

_PYTHON_TESTS = {"=": "==", "!=": "!=", "<>": "!=", "<": "<", ">": ">", "<=": "<=", ">=": ">="}

# Kinds of generated values: what the generator knows of a node's result.
TEXT, NUMBER, CONDITION, NULL, ANY = "text", "number", "condition", "null", "any"
"""TEXT: a str or None; NUMBER: a Decimal or None; CONDITION: a bool; NULL: None."""

_MAX_CHAIN = 6
"""Arithmetic chains and COALESCE lists longer than this call one helper on all their
values (``chain_values``, ``coalesce_values``) instead of nesting a call per operand."""

_MAX_BRANCHES = 64
"""CASE expressions with more WHENs call ``first_branch`` on all their values."""


def generated_for(expression: ex.Expression) -> Generated:
    """``expression``'s generated functions, generated once and kept on it (``Expression.code``)."""
    if expression.code is None:
        expression.code = generate(expression)
    return expression.code


def evaluate(expression: ex.Expression, lookup, now):
    """The expression's value for one row, by its generated code (the only evaluator).

    ``lookup(element_or_None, attribute)`` returns the attribute's raw text or None; ``now`` is
    what GETUTCDATE() returns. The result is None, Decimal, str, datetime or date. Bad data never
    raises (it gives NULL); only an exception raised by ``lookup`` propagates.
    """
    return generated_for(expression).function(lookup, now)


def generate(expression: ex.Expression) -> Generated:
    """Generate and compile ``expression``'s three functions: ``expression(lookup, now)``
    (``.function``: ``evaluate``), ``from_element(doc, start, now)`` (``.second``)
    and ``text_from_element(doc, start, now)`` (``.third``: the row builders')."""
    generator = _Generator()
    body, _ = generator.node(expression.root, 0)
    lines = ["def expression(lookup, now):"]
    for name, (element, attribute) in generator.attributes.items():
        lines.append(f"    {name} = lookup({generator.constant(element)}, {generator.constant(attribute)})")
        lines.append(f"    {name} = ({name}.strip() or None) if {name} else None")
    lines.append(f"    return {body}")
    # The same body for the mapper: attributes read from the starting element itself
    # (``_Document.resolve`` answers the others, and misses, once per document).
    lines.append("")
    lines.append("def from_element(doc, start, now):")
    reads = generator.reads()
    lines.extend(reads)
    lines.append(f"    return {body}")
    lines.extend(generator.text_function(body, reads))
    return define(lines, "expression", generator.names, "expression", "from_element",
                  "text_from_element")


TEXT_MEMO_SIZE = 512
"""How many answers ``text_from_element`` remembers per expression: it forgets them all
when it is full (values repeat across documents; a bound keeps the memory small)."""


class _Generator:
    def __init__(self) -> None:
        self.names = Constants()
        self.attributes: dict[str, tuple[str | None, str]] = {}
        self.attribute_names: dict[tuple[str | None, str], str] = {}
        self.temporaries = 0
        self.uses_now = False

    # -- names --

    def constant(self, value: object) -> str:
        """The namespace name holding ``value``."""
        return self.names.name(value)

    def helper(self, function) -> str:
        return self.constant(function)

    def temporary(self) -> str:
        self.temporaries += 1
        return f"t{self.temporaries}"

    def literal(self, value: object) -> tuple[str, str]:
        if value is None:
            return "None", NULL
        kind = NUMBER if type(value) is Decimal else TEXT if type(value) is str and value else ANY
        return self.constant(value), kind

    def reads(self) -> list[str]:
        """``from_element``'s lines reading each attribute into its variable, stripped (or None)."""
        lines = ["    get = start.get if start is not None else None"]
        for name, (element, attribute) in self.attributes.items():
            if element is None:
                lines.append(f"    {name} = get({self.constant(attribute)}) if get is not None else None")
                lines.append(f"    if {name} is None:")
                lines.append(f"        {name} = doc.answer(start, None, {self.constant(attribute)})")
            else:
                lines.append(f"    {name} = doc.answer(start, {self.constant(element)}, "
                             f"{self.constant(attribute)})")
            lines.append(f"    {name} = ({name}.strip() or None) if {name} else None")
        return lines

    def text_function(self, body: str, reads: list[str]) -> list[str]:
        """``text_from_element(doc, start, now) -> str``: the result as a column reads it
        (``result_to_text``, stripped). The body depends only on the attributes read (and
        ``now``, when it uses it), so the text is remembered by those, across documents, in
        a dict of at most ``TEXT_MEMO_SIZE`` entries."""
        text = (f"('' if (result := {body}) is None else result if type(result) is str "
                f"else {self.helper(ex.result_to_text)}(result)).strip()")
        lines = ["", "def text_from_element(doc, start, now):", *reads]
        if not self.attributes and not self.uses_now:  # a constant: nothing to key a memo by
            return [*lines, f"    return {text}"]
        parts = [*self.attributes, *(["now"] if self.uses_now else [])]
        key = parts[0] if len(parts) == 1 else "(" + ", ".join(parts) + ")"
        memo = self.constant({})
        return [*lines,
                f"    key = {key}",
                f"    text = {memo}.get(key)",
                "    if text is None:",
                f"        text = {text}",
                f"        if len({memo}) >= {self.constant(TEXT_MEMO_SIZE)}:",
                f"            {memo}.clear()",
                f"        {memo}[key] = text",
                "    return text"]

    # -- nodes --

    def node(self, node, depth: int) -> tuple[str, str]:
        return _METHODS[type(node)](self, node, depth + 1)

    def number(self, node, depth: int) -> str:
        code, kind = self.node(node, depth)
        if kind == NUMBER:
            return code
        # ex.as_number, its usual cases in line: a number already, or plain digits
        # with at most one point; the helper decides the rest.
        value = self.temporary()
        decimal = self.helper(Decimal)
        return (f"({value} if type({value} := {code}) is {decimal} else {decimal}({value}) "
                f"if type({value}) is str and {value}.isascii() and {value}.replace('.', '', 1).isdigit() "
                f"else {self.helper(ex.as_number)}({value}))")

    def literal_node(self, node, depth: int) -> tuple[str, str]:
        return self.literal(node.value)

    def attribute(self, node, depth: int) -> tuple[str, str]:
        key = (node.element, node.name)
        name = self.attribute_names.get(key)
        if name is None:
            name = self.attribute_names[key] = f"a{len(self.attribute_names)}"
            self.attributes[name] = key
        return name, TEXT

    def negate(self, node, depth: int) -> tuple[str, str]:
        value = self.temporary()
        return f"(None if ({value} := {self.number(node.operand, depth)}) is None else -{value})", NUMBER

    def arithmetic(self, node, depth: int) -> tuple[str, str]:
        if len(node.rest) > _MAX_CHAIN:
            first, _ = self.node(node.first, depth)
            rest = ", ".join(f"({self.constant(operator)}, {self.node(operand, depth)[0]})"
                             for operator, operand in node.rest)
            return f"{self.helper(ex.chain_values)}({first}, ({rest},))", NUMBER
        code = self.number(node.first, depth)
        for operator, operand in node.rest:
            helper = self.helper(_OPERATIONS[operator])
            code = f"{helper}({code}, {self.number(operand, depth)})"
        return code, NUMBER

    def comparison(self, node, depth: int) -> tuple[str, str]:
        test = _PYTHON_TESTS[node.operator]
        left, kind = self.node(node.left, depth)
        constant = ex.constant_of(node.right)
        value = self.temporary()
        if constant is not ex.NOT_CONSTANT:
            if kind == TEXT and _plain_text(constant):
                # compare_to_constant of a text that is neither a number nor a date:
                # a text operand compares case-insensitively, a NULL compares false.
                folded = self.constant(constant.casefold())
                return f"(({value} := {left}) is not None and {value}.casefold() {test} {folded})", CONDITION
            if kind == TEXT and type(constant) is Decimal:
                # A text operand that reads as a number compares as one, other text as text.
                number = self.temporary()
                folded = self.constant(ex.result_to_text(constant).casefold())
                return (f"(({value} := {left}) is not None and ({number} {test} {self.constant(constant)} "
                        f"if ({number} := {self.helper(ex.as_number)}({value})) is not None "
                        f"else {value}.casefold() {test} {folded}))"), CONDITION
            if kind == NUMBER and type(constant) is Decimal:
                return f"(({value} := {left}) is not None and {value} {test} {self.constant(constant)})", \
                    CONDITION
            against = self.constant(ex.compare_to_constant(constant))
            return f"(({value} := {against}({left})) is not None and {value} {test} 0)", CONDITION
        right, _ = self.node(node.right, depth)
        return f"(({value} := {self.helper(ex.compare_values)}({left}, {right})) is not None " \
               f"and {value} {test} 0)", CONDITION

    def between(self, node, depth: int) -> tuple[str, str]:
        operand, _ = self.node(node.operand, depth)
        low, _ = self.node(node.low, depth)
        high, _ = self.node(node.high, depth)
        return f"{self.helper(ex.between_values)}({operand}, {low}, {high})", CONDITION

    def like(self, node, depth: int) -> tuple[str, str]:
        operand, kind = self.node(node.operand, depth)
        if not isinstance(node.pattern, ex.LiteralNode) or kind != TEXT:
            pattern, _ = self.node(node.pattern, depth)
            return f"{self.helper(ex.like_values)}({operand}, {pattern})", CONDITION
        constant = node.pattern.value
        if constant is None:
            return "False", CONDITION  # like_constant: no pattern matches nothing
        regex = self.constant(ex.like_regex(ex.result_to_text(constant)))
        value = self.temporary()
        return f"(({value} := {operand}) is not None and {regex}.fullmatch({value}) is not None)", CONDITION

    def isnull(self, node, depth: int) -> tuple[str, str]:
        code, _ = self.node(node.operand, depth)
        return f"({code} is None)", CONDITION

    def member(self, node, depth: int) -> tuple[str, str]:
        operand, kind = self.node(node.operand, depth)
        constants = [ex.constant_of(item) for item in node.items]
        value = self.temporary()
        if kind == TEXT and constants and all(_plain_text(c) for c in constants):
            folded = self.constant(frozenset(c.casefold() for c in constants))
            return f"(({value} := {operand}) is not None and {value}.casefold() in {folded})", CONDITION
        if kind == TEXT and constants and all(type(c) is Decimal for c in constants):
            # Every constant a number: a number compares as one, other text as its folded text.
            numbers = self.constant(frozenset(constants))
            texts = self.constant(frozenset(ex.result_to_text(c).casefold() for c in constants))
            number = self.temporary()
            return (f"(({value} := {operand}) is not None and ("
                    f"{number} in {numbers} if ({number} := {self.helper(ex.as_number)}({value})) "
                    f"is not None else {value}.casefold() in {texts}))"), CONDITION
        items = ", ".join(self.node(item, depth)[0] for item in node.items)
        return f"{self.helper(ex.is_member)}({operand}, ({items},))", CONDITION

    def negation(self, node, depth: int) -> tuple[str, str]:
        code, _ = self.node(node.operand, depth)
        return f"(not {code})", CONDITION

    def logical(self, node, depth: int) -> tuple[str, str]:
        joiner = " and " if node.operator == "AND" else " or "
        return "(" + joiner.join(self.node(operand, depth)[0] for operand in node.operands) + ")", \
            CONDITION

    def case(self, node, depth: int) -> tuple[str, str]:
        # One flat chain, ``(v1 if t1 else v2 if t2 else otherwise)``: Python's conditional
        # expression nests to the right without parentheses, so many WHENs nest nothing.
        # Beyond ``_MAX_BRANCHES`` (the compiler recurses once per branch) one helper picks
        # among all the branches' values, worked out first: evaluation is pure and never raises.
        parts, pairs, kinds = [], [], []
        for condition, result in node.branches:
            test, _ = self.node(condition, depth)
            value, kind = self.node(result, depth)
            kinds.append(kind)
            parts.append(f"{value} if {test} else ")
            pairs.append(f"({test}, {value})")
        code, kind = ("None", NULL) if node.otherwise is None else self.node(node.otherwise, depth)
        kinds.append(kind)
        if len(parts) > _MAX_BRANCHES:
            return f"{self.helper(ex.first_branch)}(({', '.join(pairs)},), {code})", _common(kinds)
        return "(" + "".join(parts) + code + ")", _common(kinds)

    def call(self, node, depth: int) -> tuple[str, str]:
        constant = ex.constant_of(node)
        if constant is not ex.NOT_CONSTANT:
            return self.literal(constant)
        name = node.name
        arguments = node.arguments
        if name == "GETUTCDATE":
            self.uses_now = True
            return "now", ANY
        if name in ex.TEXT_METHODS:
            code, kind = self.node(arguments[0], depth)
            value = self.temporary()
            if kind == TEXT:
                method = ex.TEXT_METHODS[name].__name__
                return f"(None if ({value} := {code}) is None else ({value}.{method}() or None))", TEXT
            apply = self.helper(ex.UNARY_VALUES[name])
            return f"(None if ({value} := {code}) is None else {apply}({value}))", TEXT
        if name in ex.UNARY_VALUES:
            code, kind = self.node(arguments[0], depth)
            value = self.temporary()
            if name == "LEN" and kind == TEXT:
                decimal = self.helper(Decimal)
                return f"(None if ({value} := {code}) is None else {decimal}(len({value}.rstrip(' '))))", \
                    NUMBER
            apply = self.helper(ex.UNARY_VALUES[name])
            result_kind = NUMBER if name in ("LEN", "ABS") else ANY
            return f"(None if ({value} := {code}) is None else {apply}({value}))", result_kind
        if name == "ROUND":
            return (f"{self.helper(ex.round_value)}({self.number(arguments[0], depth)}, "
                    f"{self.number(arguments[1], depth)})"), NUMBER
        if name == "SUBSTRING":
            code, _ = self.node(arguments[0], depth)
            return (f"{self.helper(ex.substring_of)}({code}, {self.number(arguments[1], depth)}, "
                    f"{self.number(arguments[2], depth)})"), TEXT
        if name == "DATEADD":
            amount, _ = self.node(arguments[0], depth)
            moment, _ = self.node(arguments[1], depth)
            return f"{self.helper(ex.date_add)}({self.constant(node.detail)}, {amount}, {moment})", ANY
        if name == "CAST":
            code, _ = self.node(arguments[0], depth)
            return f"{self.helper(ex.cast_value)}({code}, {self.constant(node.detail)})", ANY
        if name in ("COALESCE", "ISNULL"):
            if name == "ISNULL" or len(arguments) <= _MAX_CHAIN:
                values = [self.node(argument, depth) for argument in arguments]
                code, _ = values[-1]
                for value_code, _ in reversed(values[:-1]):
                    value = self.temporary()
                    code = f"({value} if ({value} := {value_code}) is not None else {code})"
                return code, _common([kind for _, kind in values])
            values = [self.node(argument, depth) for argument in arguments]
            listed = ", ".join(code for code, _ in values)
            return f"{self.helper(ex.coalesce_values)}(({listed},))", _common([kind for _, kind in values])
        raise ValueError(f"no code for the function {name}")  # pragma: no cover - every one has


def _common(kinds: list[str]) -> str:
    """The kind of a value that is one of several (CASE branches, COALESCE arguments)."""
    known = {kind for kind in kinds if kind != NULL}
    return known.pop() if len(known) == 1 and known <= {TEXT, NUMBER} else ANY


def _plain_text(constant: object) -> bool:
    """A text literal that is neither a number nor a date (compares as folded text only)."""
    return type(constant) is str and ex.as_number(constant) is None and parse_datetime(constant) is None


def _operation(operate, divides: bool):
    """``ex._apply`` of one operator on two numbers that may be NULL, in one call."""
    def operation(left: Decimal | None, right: Decimal | None) -> Decimal | None:
        if left is None or right is None or (divides and not right):
            return None
        try:
            return operate(left, right)
        except ArithmeticError:  # as ex._apply: overflow or an undefined result is no value
            return None
    return operation


_OPERATIONS = {
    "+": _operation(ex.ARITHMETIC_CONTEXT.add, False), "-": _operation(ex.ARITHMETIC_CONTEXT.subtract, False),
    "*": _operation(ex.ARITHMETIC_CONTEXT.multiply, False), "/": _operation(ex.ARITHMETIC_CONTEXT.divide, True),
}

_METHODS = {
    ex.LiteralNode: _Generator.literal_node, ex.AttributeNode: _Generator.attribute,
    ex.NegateNode: _Generator.negate, ex.ArithmeticNode: _Generator.arithmetic,
    ex.ComparisonNode: _Generator.comparison, ex.BetweenNode: _Generator.between,
    ex.LikeNode: _Generator.like, ex.IsNullNode: _Generator.isnull, ex.InNode: _Generator.member,
    ex.NotNode: _Generator.negation, ex.LogicalNode: _Generator.logical, ex.CaseNode: _Generator.case,
    ex.CallNode: _Generator.call,
}
"""The generator's method for each node class of the parsed tree."""
