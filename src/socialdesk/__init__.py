"""socialdesk: a social customer care desk. Importing the package has no side effects."""

__version__ = "0.1.0"
