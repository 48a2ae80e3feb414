"""routing subpackage of the planner."""
