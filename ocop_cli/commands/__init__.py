"""The command line (Typer): each command parses its options, calls the library, turns its
errors into exit codes and hands the result to a formatter.
"""
