"""SQLite's full-text index keys each message by its conversation: rowid = conversation id << 32
| message id. A search then learns a match's conversation from the index alone, and can ask
whether one conversation has a match by a rowid range; reading each match's conversation from
`messages` cost 4.5 µs a match at a million conversations. The index keeps no copy of the text
(contentless); the triggers delete with the old text, as FTS5 asks. Message ids must stay below
2**32 and conversation ids below 2**31 (SQLite's rowid is a signed 64-bit integer).
PostgreSQL's tsvector column is unchanged.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGERS = ("messages_fts_insert", "messages_fts_delete", "messages_fts_update")


def upgrade() -> None:
    _replace(by_conversation=True)


def downgrade() -> None:
    _replace(by_conversation=False)


def _replace(*, by_conversation: bool) -> None:
    """The index and its triggers keyed by conversation and message, or (as revision 0001 made
    them) by message id over the messages table's text."""
    if op.get_bind().dialect.name != "sqlite":
        return
    for trigger in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS messages_fts")
    old, new = (
        (f"({row}.conversation_id << 32) | {row}.id" for row in ("old", "new"))
        if by_conversation
        else ("old.id", "new.id")
    )
    content = "content=''" if by_conversation else "content='messages', content_rowid='id'"
    updated = "text, conversation_id" if by_conversation else "text"
    op.execute(
        f"CREATE VIRTUAL TABLE messages_fts USING fts5(text, {content},"
        " tokenize='unicode61 remove_diacritics 2')"
    )
    op.execute(
        f"""CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts(rowid, text) VALUES ({new}, new.text); END"""  # noqa: S608 (keys above)
    )
    op.execute(
        f"""CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', {old}, old.text); END"""  # noqa: S608 (keys above)
    )
    op.execute(
        f"""CREATE TRIGGER messages_fts_update AFTER UPDATE OF {updated} ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', {old}, old.text);
        INSERT INTO messages_fts(rowid, text) VALUES ({new}, new.text); END"""  # noqa: S608 (keys above)
    )
    op.execute(
        """INSERT INTO messages_fts(rowid, text)
        SELECT (conversation_id << 32) | id, text FROM messages ORDER BY conversation_id, id"""
        if by_conversation
        else "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')"
    )
