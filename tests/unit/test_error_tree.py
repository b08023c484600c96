"""Every exception class xmlshred defines has one root and a unique name (issue 24, "Errors").

The package is walked (every module imported), so a new module's exception
class is checked without being listed here.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections import defaultdict

import pytest

import xmlshred
from xmlshred.vocab.errors import (
    FAMILIES,
    DataError,
    TerminalError,
    TransientError,
    XmlshredError,
    family_of,
)

OPTIONAL_IMPORTS = {"ray"}
"""Third-party packages some modules need only when used (``--engine ray``)."""


def _package_exceptions() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(xmlshred.__path__, prefix="xmlshred."):
        if info.name == "xmlshred.__main__":
            continue  # runs the CLI when imported
        try:
            module = importlib.import_module(info.name)
        except ImportError as exc:
            if exc.name in OPTIONAL_IMPORTS:
                continue
            raise
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == module.__name__:
                found[f"{value.__module__}.{value.__qualname__}"] = value

    def walk(cls: type[BaseException]) -> None:
        for sub in cls.__subclasses__():
            if sub.__module__.startswith("xmlshred."):
                found.setdefault(f"{sub.__module__}.{sub.__qualname__}", sub)
            walk(sub)

    walk(BaseException)
    return list(found.values())


EXCEPTIONS = _package_exceptions()


def test_the_walk_finds_the_package_exceptions():
    names = {cls.__name__ for cls in EXCEPTIONS}
    # a sample from several layers, so an empty or partial walk cannot pass the rules below
    assert {"TargetError", "ContractError", "SourceError", "SettingsError", "WorkerDied",
            "DocumentRejected", "LeaseHeld", "UrlError", "ReportError"} <= names
    assert len(EXCEPTIONS) >= 30


def test_every_exception_class_is_under_the_one_root():
    outside = sorted(f"{cls.__module__}.{cls.__qualname__}" for cls in EXCEPTIONS
                     if not issubclass(cls, XmlshredError))
    assert outside == [], f"exception classes not under XmlshredError: {outside}"


def test_no_two_exception_classes_share_a_name():
    by_name: dict[str, list[str]] = defaultdict(list)
    for cls in EXCEPTIONS:
        by_name[cls.__name__].append(f"{cls.__module__}.{cls.__qualname__}")
    shared = {name: paths for name, paths in by_name.items() if len(paths) > 1}
    assert shared == {}, f"exception classes sharing a name: {shared}"


def test_a_class_is_in_at_most_one_family_and_a_familyless_one_is_a_base():
    for cls in EXCEPTIONS:
        families = [family.__name__ for family in FAMILIES if issubclass(cls, family)]
        assert len(families) <= 1, f"{cls.__qualname__} is in several families: {families}"
        if not families and cls not in (XmlshredError,):
            below = [sub for sub in EXCEPTIONS if sub is not cls and issubclass(sub, cls)]
            assert below and all(family_of(sub) for sub in below), (
                f"{cls.__qualname__} is in no family and is no subsystem base: "
                "derive it from DataError, TransientError or TerminalError")


@pytest.mark.parametrize(("name", "family"), [
    ("DataTargetError", DataError), ("TransientTargetError", TransientError),
    ("ConnectTargetError", TerminalError), ("TargetError", TerminalError),
    ("DocumentRejected", DataError), ("WorkerDied", TransientError), ("ContractError", TerminalError),
])
def test_families_sort_by_how_the_caller_reacts(name, family):
    (cls,) = [cls for cls in EXCEPTIONS if cls.__name__ == name]
    assert family_of(cls) is family
    assert family_of(ValueError("not ours")) is None
