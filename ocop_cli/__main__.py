"""`python -m ocop_cli`."""

from ocop_cli.commands.app import main

main()
