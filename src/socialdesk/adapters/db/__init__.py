"""SQLAlchemy Core storage on SQLite (default, one file, WAL) or PostgreSQL."""
