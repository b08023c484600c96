"""What the two source generators share: named constants, and compiling the source.

Generated code (``expression_source``, ``row_source``) never has a contract
value pasted into its text: each constant is kept in the function's
namespace under a generated name and the source only names it.
"""

from __future__ import annotations

import itertools
import linecache

__all__ = ["Constants", "Generated", "define"]

_numbers = itertools.count(1)


class Constants:
    """The namespace of one generated function: each object under a name ``k0``, ``k1`` ..."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {}
        self._names: dict[int, str] = {}  # by id: every object stays alive in ``values``

    def name(self, value: object) -> str:
        """The name holding ``value`` (one name per object)."""
        name = self._names.get(id(value))
        if name is None:
            name = f"k{len(self.values)}"
            self.values[name] = value
            self._names[id(value)] = name
        return name


class Generated:
    """A generated function, its source (for debugging and tests) and its named constants;
    ``second`` and ``third`` are further functions defined by the same source, when asked for."""

    __slots__ = ("function", "source", "constants", "second", "third")

    def __init__(self, function, source: str, constants: dict[str, object], second=None,
                 third=None) -> None:
        self.function = function
        self.source = source
        self.constants = constants
        self.second = second
        self.third = third


def define(lines: list[str], kind: str, constants: Constants, function: str,
           second: str | None = None, third: str | None = None) -> Generated:
    """Compile the generated ``lines``: the function named ``function`` among them (and the
    ones named ``second`` and ``third``, if given).

    The source is registered with ``linecache`` under ``<kind N>`` so tracebacks and
    debuggers show the generated lines.
    """
    source = "\n".join(lines) + "\n"
    filename = f"<{kind} {next(_numbers)}>"
    namespace = dict(constants.values)
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - generated code, constants by name only
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    return Generated(namespace[function], source, constants.values,
                     namespace[second] if second is not None else None,
                     namespace[third] if third is not None else None)
