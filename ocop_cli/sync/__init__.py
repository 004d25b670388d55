"""Working as a team through git: send what was recorded here, receive the others' work, and
check what arrives before it counts.

It builds on `store` and `core`.
"""
