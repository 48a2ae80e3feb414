"""Packages that are also the job they hold: ``planner.assign(...)`` runs the assignment.

``import planner as tp; tp.assign(ws)`` reads naturally, while
``planner.assign`` stays the package of the assignment modules. The job
is found by name on first call (in :mod:`planner.jobs`), so a package
never imports the modules above it.
"""

from __future__ import annotations

import importlib
import types
from typing import Any

__all__ = ["make_callable"]


class _CallableModule(types.ModuleType):
    """A module whose call runs the job named in ``_tp_job`` (``"module:function"``)."""

    _tp_job: str

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        module, _, function = self._tp_job.partition(":")
        return getattr(importlib.import_module(module), function)(*args, **kwargs)


def make_callable(module: types.ModuleType, job: str) -> None:
    """Make ``module`` callable as the function ``job`` (``"planner.jobs:assign"``)."""
    module.__class__ = _CallableModule
    module._tp_job = job  # type: ignore[attr-defined]
