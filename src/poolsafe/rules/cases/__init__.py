"""VALID/INVALID code samples, one module per rule."""
