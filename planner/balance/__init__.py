"""balance subpackage of the planner."""
