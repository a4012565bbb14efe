"""Output formats for scan results."""
