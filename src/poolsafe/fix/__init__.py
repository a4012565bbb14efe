"""`poolsafe fix`: libcst codemods that rewrite findings into the safe pattern.

Three layers, each its own package: what a fix is (`plan`), the fixers that build
plans (`fixers`), and the loop that applies them and writes files (`loop`). The command
itself is `poolsafe.cli.fix_command`. The package imports nothing, so that the command
line loads libcst only when a command needs it.
"""
