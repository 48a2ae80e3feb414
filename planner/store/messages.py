"""Messages of the store for people: which row a key names, what a storage fault means."""

from __future__ import annotations

from planner import schema as s
from planner.store.diff import key_values

__all__ = ["fault_message", "row_label"]


def row_label(table: str, key: str) -> str:
    """Say which row a key names, for people: "territory HEL (scenario 2026-plan)"."""
    columns = s.TABLES[table].key
    values = key_values(key, columns)
    noun = {
        "territories": "territory",
        "memberships": "membership",
        "unit_assignment": "unit",
        "associations": "user association",
        "targets": "target",
        "overrides": "override",
        "accounts": "account",
        "reps": "user",
        "units": "unit",
        "scenarios": "scenario",
        "territory_types": "territory type",
    }.get(table, table)
    parts = [str(v) for c, v in values.items() if c != s.SCENARIO_ID and v is not None]
    where = values.get(s.SCENARIO_ID)
    label = f"{noun} {'/'.join(parts)}" if parts else noun
    return f"{label} (scenario {where})" if where and table != "scenarios" else label


def fault_message(location: str, what: str, exc: Exception) -> str:
    text = str(getattr(exc, "orig", exc) or exc).strip().splitlines()[0]
    low = text.lower()
    if "locked" in low or "busy" in low:
        hint = "another program holds the workspace open for writing; close it or try again"
    elif "readonly" in low or "read-only" in low:
        hint = "the file or its folder is read-only; save a copy elsewhere"
    elif ("disk" in low and "full" in low) or "no space" in low:
        hint = "the disk is full; free some space and try again"
    elif "connect" in low or "server" in low or "timeout" in low or "terminat" in low:
        hint = (
            "the database server cannot be reached; "
            "check PLANNER_DATABASE_URL and that the server runs"
        )
    else:
        hint = "try again; if it persists, check the file or server"
    return f"cannot {what} the workspace {location}: {text} ({hint}). Nothing was changed."
