"""poolsafe: find database connection leaks, fix them, and prove the fix."""

__version__ = "0.1.0"
