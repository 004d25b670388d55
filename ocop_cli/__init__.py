"""ocop: track the OCOP implementation plan of Hải Dương province from plain YAML files.

Nothing is imported here: start-up time matters, so each module imports what it needs.
"""

__version__ = "0.1.0"
