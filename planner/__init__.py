"""Territory Planner: sales territory design, assignment, balancing and routing."""

from __future__ import annotations

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
