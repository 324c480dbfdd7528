"""Implementations of the service ports: database, connectors, importers, hashing, clocks."""
