"""The foundation: findings and errors, source decoding, the project root and module
names, walking paths, positions of reported nodes, keeping parsed trees alive, and the
rule codes. Everything else builds on it; it imports nothing of poolsafe but itself."""
