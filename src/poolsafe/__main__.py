"""`python -m poolsafe`."""

from poolsafe.cli import main

main()
