"""Users imports: password hashes never come from a file, whoever imports it."""

from __future__ import annotations

import pytest

from planner import schema as s
from planner.auth import hash_password, verify_password
from planner.errors import InputError
from planner.geo.io import ValidationReport
from planner.services.importing import ImportOptions, plan_import, validate_upload
from planner.workspace import Workspace
from tests.app.conftest import FAST_HASH, with_team

#: A well-formed scrypt hash of the password "stolen", as another system would export it.
FOREIGN = hash_password("stolen", params=FAST_HASH)


def _report(text: str) -> ValidationReport:
    report = validate_upload("users.csv", text.encode(), kind="reps")
    assert report.ok, report.problems
    return report


def _hash_of(ws: Workspace, rep_id: str) -> object:
    reps = ws.reps.set_index(s.REP_ID)
    return reps.loc[rep_id, s.PASSWORD_HASH] if s.PASSWORD_HASH in reps.columns else None


def test_admin_import_leaves_the_hash_column_out_with_a_note(small_workspace: Workspace) -> None:
    """An admin's file with hashes imports the users, keeps current passwords, sets none."""
    ws = with_team(small_workspace)
    rows = f"R1,Aino,rep,{FOREIGN}\nR9,Ville,rep,{FOREIGN}\n"
    report = _report("rep_id,name,role,password_hash\n" + rows)
    result = plan_import(
        report, ImportOptions(into="open"), workspace=ws, user="AD", may_manage_users=True
    )
    assert verify_password("pw", str(_hash_of(result.workspace, "R1")))  # kept, not replaced
    assert s.is_missing(_hash_of(result.workspace, "R9"))  # the newcomer has no password yet
    note = " ".join(result.notes)
    assert "Left out the password hashes of 2 users (R1, R9)" in note
    assert "never imported from files" in note and "set_password" in note


def test_new_workspace_never_takes_hashes(small_workspace: Workspace) -> None:
    """Importing users into a new workspace drops the hashes too (it would open to them)."""
    report = _report(f"rep_id,name,role,password_hash\nAD,Elina,admin,{FOREIGN}\n")
    result = plan_import(
        report, ImportOptions(into="new", workspace_name="fresh"), workspace=None, user="AD",
        may_manage_users=True,
    )  # fmt: skip
    assert s.is_missing(_hash_of(result.workspace, "AD"))
    assert any("Left out the password hashes of 1 user (AD)" in n for n in result.notes)


def test_non_admin_is_refused_with_the_fix(small_workspace: Workspace) -> None:
    """Without the right to manage users the row is a problem naming the column and the fix."""
    ws = with_team(small_workspace)
    report = _report(f"rep_id,name,role,password_hash\nR9,Ville,rep,{FOREIGN}\n")
    with pytest.raises(InputError, match="1 problem with the users") as caught:
        plan_import(report, ImportOptions(into="open"), workspace=ws, user="P1")
    [problem] = caught.value.problems
    assert problem.column == s.PASSWORD_HASH
    assert "R9" in problem.message
    assert "(not used)" in (problem.fix or "") and "never imported" in (problem.fix or "")


def test_file_without_hashes_has_no_note(small_workspace: Workspace) -> None:
    """A users file without a password column imports without the hash note."""
    ws = with_team(small_workspace)
    result = plan_import(
        _report("rep_id,name,role\nR9,Ville,rep\n"), ImportOptions(into="open"), workspace=ws,
        user="P1",
    )  # fmt: skip
    assert not any("password hashes" in n for n in result.notes)
    assert "R9" in set(result.workspace.reps[s.REP_ID].astype(str))
