"""Rows to what a person reads: terminal tables, JSON, CSV, Markdown, XLSX, HTML and DOCX,
each drawn by a formatter chosen once, and the letterhead of the documents an office files.

It builds on `store` (to write a file through the one door) and `core`.
"""
