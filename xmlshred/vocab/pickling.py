"""Cheaper pickling for the small frozen dataclasses that cross the worker pipes.

A frozen dataclass with slots pickles through its generated ``__getstate__`` and
``__setstate__``, which look up the class's fields and set each one with
``object.__setattr__`` on every object: about four times the cost of calling the
class with its values. Every batch sends a few dozen of these objects each way,
so the ones that cross the pipes pickle as a plain call instead.
"""

from __future__ import annotations

from dataclasses import fields
from operator import attrgetter

__all__ = ["pickled_as_call"]


def pickled_as_call(cls):
    """Class decorator (above ``@dataclass``): pickle an instance as ``cls(*field values)``.

    Only for dataclasses whose ``__init__`` takes every field, in order, and keeps it as given.
    """
    names = tuple(field.name for field in fields(cls))
    values = attrgetter(*names)
    if len(names) == 1:
        def __reduce__(self):
            return cls, (values(self),)
    else:
        def __reduce__(self):
            return cls, values(self)
    cls.__reduce__ = __reduce__
    return cls
