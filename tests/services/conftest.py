"""Fixtures of the services tests: the app tests' small workspace."""

from __future__ import annotations

import pytest

from planner.workspace import Workspace
from tests.app.conftest import build_small_workspace


@pytest.fixture
def small_workspace() -> Workspace:
    """A fresh in-memory small workspace (40 accounts, 3 leaf territories, 2 scenarios)."""
    return build_small_workspace()
