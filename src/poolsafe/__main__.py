"""`python -m poolsafe`."""

from poolsafe.cli.main import main

main()
