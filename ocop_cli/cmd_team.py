"""Commands of this area register themselves on `app` when cli.py imports this module."""
