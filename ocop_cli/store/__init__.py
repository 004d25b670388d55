"""The workspace on disk: finding it, reading and validating its files (one reader per format),
the one door for writes (the locked, flushed append and the atomic replace) and the SQLite
index, a cache of the files' data under `.ocop/`.

It builds on `core` only.
"""
