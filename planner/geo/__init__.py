"""geo subpackage of the planner."""
