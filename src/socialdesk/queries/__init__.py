"""Read side: plain select() statements returning frozen DTOs, with bounded statement counts.

Never writes, never loads aggregates. Reads the tables in `adapters/db/tables.py` directly.
"""
