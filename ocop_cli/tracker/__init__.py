"""The library the commands call: what reading commands show, what recording commands
append, reports as data and the product register, over a workspace.

It builds on every layer below the command line.
"""
