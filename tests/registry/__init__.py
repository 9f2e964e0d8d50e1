"""The conformance registry: every middleware of the package in a typical configuration.

Each module here defines ``CASES``: a mapping of case name to :class:`Case`. Adding a module
adds its middleware to the conformance matrix in ``tests/test_conformance.py``; nothing else
needs to change.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Case:
    """A middleware configuration: ``factory(app)`` builds it; ``environ`` is added to requests
    (credentials, cookies) so the request reaches the app."""

    factory: Callable[[Any], Any]
    environ: dict[str, Any] = field(default_factory=dict)


def all_cases() -> dict[str, Case]:
    """Every registered case, ``"module:case"`` -> :class:`Case`."""
    cases: dict[str, Case] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name, case in module.CASES.items():
            cases[f"{info.name}:{name}"] = case
    return cases
