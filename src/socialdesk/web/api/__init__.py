"""REST API v1: one module per resource; request bodies in `schemas.py`, responses are query DTOs."""
