"""`poolsafe server`: the language server, for editors."""

from __future__ import annotations

import click


@click.command(name="server")
@click.option("--stdio", is_flag=True, default=True, hidden=True,
              help="Talk over standard input and output (the only transport).")
def server_command(stdio: bool) -> None:
    """Run the language server over stdio, for editors (see docs/editors.md).

    Diagnostics as you type (the unsaved buffer, resolved in its whole project),
    quick fixes, "Fix all", "Ignore on this line" and the rule docs on hover; the
    settings come from each project's pyproject.toml.
    """
    from poolsafe.lsp.server import run  # pygls loads only here

    run()
