"""Tables from outside: bounded reading of TSV, CSV and XLSX sheets, and turning their rows
into plans, progress entries, products and units.

It builds on `store` and `core`.
"""
