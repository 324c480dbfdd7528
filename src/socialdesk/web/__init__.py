"""Web entry point: the FastAPI app. Thin: parse, call a service or query, render. No SQL, no commits."""
