"""`poolsafe fix`: libcst codemods that rewrite findings into the safe pattern.

The plans are in `poolsafe.fix.api`, the edits in `poolsafe.fix.edits`, the loop in
`poolsafe.fix.apply`. The package itself imports nothing, so that the command line
loads libcst only when a command needs it.
"""
