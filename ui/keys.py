"""Every ``st.session_state`` key and widget key of the app's frame and pages, named once.

A key is written here and only here; modules use the constant
(``st.session_state[keys.SCENARIO]``, ``key=keys.EDIT_MODE``). Keys made per
item (a map per mode, a field per file) are functions of the item. Values are
grouped by prefix: ``tp.`` the session's state, ``tp.widget.`` the frame's
widgets, ``tp.<page>.`` one page's widgets and memory; the balance controls keep
their older ``bal.`` names. ``tests/app/test_session_keys.py`` checks that no other
module writes a key literal.

Streamlit needs the key itself at run time, so these are plain strings.
"""

from __future__ import annotations

from collections.abc import Iterable

# --------------------------------------------------------------------------- the session (ui.state)
WORKSPACE = "tp.workspace"
SOURCE = "tp.source"
SCENARIO = "tp.scenario_id"
VERSION = "tp.version"
LOAD_ERROR = "tp.load_error"
TILES = "tp.tiles"
OPPORTUNITIES = "tp.opportunities"
PENDING = "tp.pending"
REFRESH = "tp.refresh"

# --------------------------------------------------------------------------- sign-in (ui.auth)
AUTH_SESSION = "tp.auth.session"
AUTH_SOURCE = "tp.auth.source"
AUTH_NOTICE = "tp.auth.notice"
AUTH_VIEW = "tp.auth.view"
LOGIN = "tp.widget.login"
PASSWORD = "tp.widget.password"
SIGN_IN_FORM = "tp.form.signin"
CLEAR_FOCUS = "tp.widget.clear_focus"

# ---------------------------------------------------------------------- the sidebar (ui.sidebar)
WORKSPACE_CHOICE = "tp.widget.workspace"
UPLOAD = "tp.widget.upload"
SCENARIO_CHOICE = "tp.widget.scenario"
TILES_CHOICE = "tp.widget.tiles"
UNDO_NOTE = "tp.undo_note"
UNDONE = "tp.undone"
NEXT_WORKSPACE_CHOICE = "tp.next_workspace_choice"
LAST_UPLOAD = "tp.last_upload"
FULL_RUN = "tp.full_run"
SIGN_OUT = "tp.widget.signout"
UNDO = "tp.widget.undo"
REDO = "tp.widget.redo"
COPY_NAME = "tp.widget.copy_name"
SAVE_COPY = "tp.widget.save_copy"


DATA_PAGE = "tp.widget.data.page"


def currency(source_key: str) -> str:
    """The display currency picked for one workspace (each keeps its own)."""
    return f"tp.widget.currency.{source_key}"


CONFLICT_RELOAD = "tp.widget.conflict_reload"
CONFLICT_KEEP = "tp.widget.conflict_keep"
RETRY = "tp.widget.retry"
DISCARD = "tp.widget.discard"

# --------------------------------------------------------------------------- Edit territories
EDIT_FLASH = "tp.edit.flash"
EDIT_SEEN = "tp.edit.seen"
EDIT_SELECTED = "tp.edit.selected"
EDIT_NEXT_SELECTED = "tp.edit.next_selected"
EDIT_PENDING = "tp.edit.pending"
EDIT_NONCE = "tp.edit.nonce"
EDIT_MODE = "tp.edit.mode"
EDIT_ZOOM = "tp.edit.zoom"
EDIT_UNIT_FORM = "tp.edit.unit_form"
EDIT_UNIT_PICK = "tp.edit.unit_pick"
EDIT_RESHAPE_FORM = "tp.edit.reshape_form"
EDIT_USE = "tp.edit.use"
EDIT_DRAWN_FORM = "tp.edit.drawn_form"
EDIT_DISCARD = "tp.edit.discard"
EDIT_COUNTS = "tp.edit.counts"
EDIT_HISTORY = "tp.edit.history"


def edit_map(mode: str, shown: str, zoom: bool, version: int, nonce: int) -> str:
    """The editing map's key: a new map (and no stale drawing) when any of these change."""
    return f"tp.edit.map.{mode}.{shown}.{int(zoom)}.{version}.{nonce}"


# --------------------------------------------------------------------------- Hierarchy
HIERARCHY_TREE = "tp.hierarchy.tree"
HIERARCHY_RENAME_ID = "tp.hierarchy.rename_id"
HIERARCHY_RENAME_FORM = "tp.hierarchy.rename_form"
HIERARCHY_MOVE_FORM = "tp.hierarchy.move_form"
HIERARCHY_MOVE_ID = "tp.hierarchy.move_id"
HIERARCHY_MOVE_TO = "tp.hierarchy.move_to"
HIERARCHY_SAVE_TYPES = "tp.hierarchy.save_types"


def hierarchy_name(territory_id: str) -> str:
    """The name field of one territory."""
    return f"tp.hierarchy.name.{territory_id}"


def hierarchy_type(territory_id: str) -> str:
    """The type field of one territory."""
    return f"tp.hierarchy.type.{territory_id}"


def hierarchy_types(version: int) -> str:
    """The territory types' editor of one workspace version."""
    return f"tp.hierarchy.types.{version}"


# --------------------------------------------------------------------------- Assignment
ASSIGN_FOCUS = "tp.assign.focus"
ASSIGN_RERUN = "tp.assign.rerun"
ASSIGN_TERRITORY = "tp.assign.t"
ASSIGN_CAUSE = "tp.assign.cause"
ASSIGN_SEARCH = "tp.assign.q"
ASSIGN_PRIMARY = "tp.assign.primary"
ASSIGN_TABLE = "tp.assign.table"
ASSIGN_ACCOUNT = "tp.assign.account"
ASSIGN_WHY_NOT = "tp.assign.why_not"
ASSIGN_VERDICTS = "tp.assign.verdicts"
ASSIGN_HISTORY = "tp.assign.history"
ASSIGN_MAP = "tp.assign.map"
ASSIGN_BULK_SOURCE = "tp.assign.bulk_source"
ASSIGN_BULK_FORM = "tp.assign.bulk_form"


def assign_zoom(problem: str) -> str:
    """The zoom button of one listed problem."""
    return f"tp.assign.zoom.{problem}"


# --------------------------------------------------------------------------- Import data
IMPORT_FLASH = "tp.import.flash"
IMPORT_UPLOADS = "tp.import.uploads"
IMPORT_REFUSED = "tp.import.refused"
IMPORT_MAKE_H3 = "tp.import.make_h3"
IMPORT_TEMPLATE = "tp.import.template"
IMPORT_KIND = "tp.import.kind"
IMPORT_MAPPING = "tp.import.mapping"
IMPORT_PROBLEMS = "tp.import.problems"
IMPORT_PREVIEW = "tp.import.preview"
IMPORT_INTO = "tp.import.into"
IMPORT_REPS_MODE = "tp.import.reps_mode"
IMPORT_SCENARIO = "tp.import.scenario"
IMPORT_TERRITORIES_MODE = "tp.import.terr_mode"
IMPORT_UNIT_TYPE = "tp.import.unit_type"
IMPORT_H3 = "tp.import.h3"
IMPORT_GO = "tp.import.go"
IMPORT_SALESFORCE = "tp.import.salesforce"


def import_file(n: int) -> str:
    """The upload field (a new one after each import, so it is emptied)."""
    return f"tp.import.file.{n}"


def import_field(name: str, signature: str) -> str:
    """A field of one uploaded file (``sheet``, ``layer``, ``crs``, ``ws_name``, ``sc_name``)."""
    return f"tp.import.{name}.{signature}"


def import_column(signature: str, found: str, i: int) -> str:
    """The column picker of one expected field of one uploaded file."""
    return f"tp.import.map.{signature}.{found}.{i}"


# --------------------------------------------------------------------------- Team
TEAM_TERRITORY = "tp.team.territory"
TEAM_STAFF = "tp.team.staff"
TEAM_ADD_FORM = "tp.team.add_form"
TEAM_USER = "tp.team.user"
TEAM_ROLE = "tp.team.role"
TEAM_START = "tp.team.start"
TEAM_END = "tp.team.end"
TEAM_LAST_DAY = "tp.team.last_day"
TEAM_END_BUTTON = "tp.team.end_button"
TEAM_REMOVE_BUTTON = "tp.team.remove_button"
TEAM_LOAD = "tp.team.load"
TEAM_VACANCIES = "tp.team.vacancies"


def team_pick(version: int) -> str:
    """The assignment picker of one workspace version."""
    return f"tp.team.pick.{version}"


# --------------------------------------------------------------------------- Map, export, reports
MAP = "territory_map"
MAP_FIND = "tp.map.find"
MAP_FIND_PICK = "tp.map.find_pick"
MAP_DENSITY = "tp.map.density"
MAP_DENSITY_WEIGHT = "tp.map.density_weight"
MAP_RINGS_FROM = "tp.map.rings_from"
MAP_RINGS_MINUTES = "tp.map.rings_minutes"
MAP_VIEW = "tp.map.view"  # the view the Map page's account layer last asked for
MAP_SELECT = "tp.map.select"  # the selection tools (lasso, rectangle, circle) shown
MAP_MOVE_FORM = "tp.map.move_form"
MAP_MOVE_TO = "tp.map.move_to"
MAP_MOVE_REASON = "tp.map.move_reason"
EXPORT_FORMAT = "tp.widget.export_format"
EXPORT_TERRITORY = "tp.widget.export_territory"
EXPORT_PREPARE = "tp.widget.export_prepare"
EXPORT_DOWNLOAD = "tp.widget.export_download"
EXPORT_USER_COLUMN = "tp.widget.export_user_column"
EXPORT_ACCOUNT_COLUMN = "tp.widget.export_account_column"
EXPORT_SALESFORCE_MODE = "tp.widget.export_salesforce_mode"
EXPORT_SINCE_ZIP = "tp.widget.export_since_zip"
EXPORT_SINCE_SCENARIO = "tp.widget.export_since_scenario"
OPPORTUNITIES_UPLOAD = "tp.widget.opportunities"
REPORT_CSV = "tp.widget.report_csv"
REPORT_XLSX = "tp.widget.report_xlsx"
TARGET_FORM = "tp.form.target"


# ------------------------------------------------------ account pickers (ui.account_actions)
def pick_chosen(name: str) -> str:
    """The accounts picked in one picker table (kept across its pages and searches)."""
    return f"tp.pick.{name}.chosen"


def pick_nonce(name: str) -> str:
    """A counter bumped when a picker is cleared (its table starts without a selection)."""
    return f"tp.pick.{name}.nonce"


def pick_page(name: str) -> str:
    """The page picker of one picker table."""
    return f"tp.pick.{name}.page"


def pick_clear(name: str) -> str:
    """The "Clear the selection" button of one picker."""
    return f"tp.pick.{name}.clear"


def pick_table(name: str, view: str) -> str:
    """The table of one picker for one view (rows shown); a new view gets a new table."""
    return f"tp.pick.{name}.table.{view}"


# ------------------------------------- Assignment page (app_pages.assignment)
ASSIGN_TABS = "tp.assign.tabs"


# --------------------------------------- Rules and overrides (ui.rule_editor)
RULES_TERRITORY = "tp.assign.rules.territory"
RULES_CANDIDATES = "tp.assign.rules.candidates"
RULES_ACTION = "tp.assign.rules.action"
RULES_SEARCH = "tp.assign.rules.search"
RULES_REASON = "tp.assign.rules.reason"
RULES_OVERRIDE = "tp.assign.rules.override"
RULES_REMOVE = "tp.assign.rules.remove_button"


def rules_text(territory_id: str, version: int) -> str:
    """The rule field of one territory and saved version (it shows the saved rule)."""
    return f"tp.assign.rules.text.{territory_id}.{version}"


def rules_apply(territory_id: str) -> str:
    """The Apply button of one territory's rule."""
    return f"tp.assign.rules.apply.{territory_id}"


def rules_clear(territory_id: str) -> str:
    """The "Clear the rule" button of one territory."""
    return f"tp.assign.rules.clear.{territory_id}"


def rules_use(i: int) -> str:
    """The Use button of one example rule."""
    return f"tp.assign.rules.use.{i}"


# ----------------------------------------------------- Gap fill (ui.gap_fill)
GAP_FILL_MAP = "tp.assign.gap_fill_map"
GAP_FILL_APPLY = "tp.assign.gap_fill_apply"


# --------------------------- One account on the Map page (ui.account_actions)
ACCOUNT_FLASH = "tp.map.account.flash"


def account_form(account_id: str) -> str:
    """The include / exclude form of one account."""
    return f"tp.map.account.form.{account_id}"


# ------------------------------ Data page: editing accounts (ui.account_edit)
DATA_SET_COLUMN = "tp.data.set_column"
DATA_SET_VALUE = "tp.data.set_value"
DATA_SET_BUTTON = "tp.data.set_button"
DATA_EDITOR_SAVE = "tp.data.editor_save"
DATA_EDIT_HOW = "tp.data.edit_how"


def data_editor(version: int) -> str:
    """The cell editor of one workspace version (a saved edit starts a fresh editor)."""
    return f"tp.data.editor.{version}"


# -------------------------------------- Team page: hand-over (app_pages.team)
TEAM_HANDOVER_FROM = "tp.team.ho_from"
TEAM_HANDOVER_TO = "tp.team.ho_to"
TEAM_HANDOVER_ON = "tp.team.ho_on"
TEAM_HANDOVER_ASK = "tp.team.ho_ask"
TEAM_HANDOVER_ASKED = "tp.team.ho_asked"
TEAM_HANDOVER_YES = "tp.team.ho_yes"
TEAM_HANDOVER_NO = "tp.team.ho_no"


#  Balance: the fairness audit (ui.audit_view; the widgets keep their bal. names)
BAL_AUDIT = "tp.balance.audit"
BAL_AUDIT_PLANS = "bal.audit.plans"
BAL_AUDIT_SEED = "bal.audit.seed"
BAL_AUDIT_RUN = "bal.audit.run"
BAL_AUDIT_WHICH = "bal.audit.which"
BAL_AUDIT_WEIGHT = "bal.audit.weight"
BAL_AUDIT_HTML = "bal.audit.html"
BAL_AUDIT_CSV = "bal.audit.csv"


#  Balance controls (ui.balance_controls; bal. names kept for bookmarks and tests)
BAL_MODE = "bal.mode"
BAL_RUN = "bal.run"
BAL_VARIABLES = "bal.variables"
BAL_TOLERANCE = "bal.tolerance"
BAL_SEED = "bal.seed"
BAL_CENTRE = "bal.centre"
BAL_K = "bal.k"
BAL_REPS = "bal.reps"
BAL_BY_CAPACITY = "bal.by_capacity"
BAL_MAX_MOVED = "bal.max_moved"
BAL_CURVE = "bal.curve"
BAL_REBALANCE_CAPACITY = "bal.rebalance_capacity"
BAL_COMPACTNESS = "bal.compactness"
BAL_COMPACT_BY = "bal.compact_by"
BAL_MAX_DRIVE_H = "bal.max_drive_h"
BAL_DRIVE_LIMIT = "bal.drive_limit"
BAL_DRIVE_PENALTY = "bal.drive_penalty"
BAL_MIN_WORKLOAD = "bal.min_workload"
BAL_MAX_WORKLOAD = "bal.max_workload"
BAL_LOCKED = "bal.locked"
BAL_LOCKED_UNITS = "bal.locked_units"


def bal_weight(variable: str) -> str:
    """The weight field of one balanced variable."""
    return f"bal.w.{variable}"


# ------------------------------------------------ History panels (ui.history)


def history_table(panel: str) -> str:
    """The changes table of one history panel (``panel`` is the panel's key)."""
    return f"{panel}.t"


def history_day(panel: str) -> str:
    """The "As of" day of one history panel."""
    return f"{panel}.day"


# --------------------------------- Import: a Salesforce export (ui.importing)
IMPORT_SALESFORCE_OUTCOME = "tp.import.salesforce.outcome"
IMPORT_SALESFORCE_FILE = "tp.import.salesforce.file"
IMPORT_SALESFORCE_ACCOUNTS = "tp.import.salesforce.accounts"
IMPORT_SALESFORCE_USERS = "tp.import.salesforce.users"
IMPORT_SALESFORCE_MODEL = "tp.import.salesforce.model"
IMPORT_SALESFORCE_NAME = "tp.import.salesforce.name"
IMPORT_SALESFORCE_GO = "tp.import.salesforce.go"


# ------------------------------------ Road network upload (ui.network_upload)
NETWORK_FILE = "tp.widget.network.file"
NETWORK_BUILD = "tp.widget.network.build"


# ----------------------- Targets: proposed quotas, opportunities (ui.targets)
TARGETS_PROPOSE_FORM = "tp.targets.propose_form"
TARGETS_PROPOSE_REQUEST = "tp.targets.propose_request"
TARGETS_PROPOSE_BASIS = "tp.targets.propose_basis"
TARGETS_PROPOSE_TOTAL = "tp.targets.propose_total"
TARGETS_PROPOSE_PERIOD = "tp.targets.propose_period"
TARGETS_PROPOSE_PER = "tp.targets.propose_per"
TARGETS_PROPOSE_STEP = "tp.targets.propose_step"
TARGETS_PROPOSE_LOOKBACK = "tp.targets.propose_lookback"
TARGETS_PROPOSE_EDITOR = "tp.targets.propose_editor"
TARGETS_PROPOSE_SAVE = "tp.targets.propose_save"
OPPORTUNITIES_STORED = "tp.reports.opportunities_stored"


# ----------------------------------------------- Team routes (ui.team_routes)
TEAM_ROUTES_PLAN = "tp.widget.team.plan"
TEAM_ROUTES_WEEK = "tp.widget.team.week"
TEAM_ROUTES_POOL = "tp.widget.team.pool"
TEAM_ROUTES_WEEKS = "tp.widget.team.weeks"
TEAM_ROUTES_DUE = "tp.widget.team.due"
TEAM_ROUTES_SEARCH = "tp.widget.team.search"
TEAM_ROUTES_DAY = "tp.widget.team.day"
TEAM_ROUTES_MAP = "tp.routes.team_map"


def team_routes_reps(territory_ids: Iterable[str]) -> str:
    """The reps picker of one choice of territories."""
    return f"tp.widget.team.reps.{','.join(territory_ids)}"


def team_routes_territories(pool: str) -> str:
    """The territories picker of one kind of pool."""
    return f"tp.widget.team.territories.{pool}"


def team_routes_shifts(rep_ids: Iterable[str]) -> str:
    """The shifts editor of one set of reps."""
    return f"tp.widget.team.shifts.{','.join(rep_ids)}"


def team_routes_file(kind: str, rep: object) -> str:
    """One rep's download (``gpx`` or ``csv``)."""
    return f"tp.widget.team.{kind}.{rep}"


# --------------------------------------------------------- Routes (ui.routes)
ROUTES_SPEED = "tp.widget.routes.speed"
ROUTES_CIRCUITY = "tp.widget.routes.circuity"
ROUTES_DATE = "tp.widget.routes.date"
ROUTES_REP_NONE = "tp.widget.routes.rep_none"
ROUTES_REP = "tp.widget.routes.rep"
ROUTES_START = "tp.widget.routes.start"
ROUTES_END = "tp.widget.routes.end"
ROUTES_WEEKDAYS = "tp.widget.routes.weekdays"
ROUTES_MODE = "tp.widget.routes.mode"
ROUTES_SEARCH = "tp.widget.routes.search"
ROUTES_ACCOUNTS = "tp.widget.routes.accounts"
ROUTES_ROUTE_CHOSEN = "tp.widget.routes.route_chosen"
ROUTES_GPX = "tp.widget.routes.gpx"
ROUTES_GEOJSON = "tp.widget.routes.geojson"
ROUTES_CSV = "tp.widget.routes.csv"
ROUTES_WORKLOAD_CSV = "tp.widget.routes.workload_csv"
ROUTES_SIM_WEEKS = "tp.widget.routes.sim_weeks"
ROUTES_SIM_SEARCH = "tp.widget.routes.sim_search"
ROUTES_SIMULATE = "tp.widget.routes.simulate"
ROUTES_ACCOUNTS_FORM = "tp.form.routes.accounts"


def routes_result(name: str) -> str:
    """A result the routes pages keep for the next runs (``plan``, ``workload``...)."""
    return f"tp.routes.{name}"


def routes_day(serial: object) -> str:
    """The day picker of one planned route."""
    return f"tp.widget.routes.day.{serial}"


def routes_map(i: int) -> str:
    """The map of one day's route."""
    return f"tp.routes.map.{i}"


# Edit territories: show the selected territory's history (computed only when on)
EDIT_SHOW_HISTORY = "tp.edit.show_history"

# Balance result and save, sizing advice; Compare page and promotion (values unchanged)
BAL_MAP = "balance_map"
BAL_SAVE = "bal.save"
BAL_SAVE_FORM = "bal.save_form"
BAL_SAVE_ERROR = "tp.balance.save_error"  # a refused save's message, shown once
BAL_CAPACITY = "bal.capacity"
BAL_UTILISATION = "bal.utilisation"
BAL_LAST_RUN = "tp.balance.run"
CMP_A = "cmp.a"
CMP_B = "cmp.b"
CMP_WEIGHT = "cmp.weight"
CMP_MAP = "compare_map"
CMP_DOWNLOAD = "cmp.download"
CMP_PROMOTE = "cmp.promote"
CMP_CANCEL = "cmp.cancel"
CMP_CONFIRM = "cmp.confirm"
CMP_PROMOTE_ERROR = "tp.compare.promote_error"
CMP_PROMOTE_REQUEST = "tp.compare.promote"
CMP_FLASH = "tp.compare.flash"


def bal_save_name(run_id: int) -> str:
    """The name field of one balance run's save (a new run proposes its own name)."""
    return f"bal.save_name.{run_id}"
