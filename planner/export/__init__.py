"""export subpackage of the planner."""
