"""Project index, value resolution, wrapper inference and per-function flow analysis."""
