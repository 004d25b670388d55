"""`python -m ocop_cli`."""

from ocop_cli.cli import main

main()
