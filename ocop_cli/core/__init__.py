"""The domain, pure: the plan, windows and targets, agencies and units, history entries, the
replay of entries into task states as of a date, and the selection of tasks.

Nothing here opens a file, reads the clock or writes to a terminal: it is given the plan, the
entries and the as-of date. Every other layer builds on it; it imports none of them.
"""
