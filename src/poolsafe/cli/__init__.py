"""The command line: `poolsafe` and its subcommands (`main`), their shared options
(`common`) and `poolsafe fix` (`fix_command`). Imports nothing itself, so that start-up
loads only what the command needs."""
