"""PostgreSQL indexes the words of each conversation instead of each message: one row a
conversation in `conversation_words` (its messages' words, without positions) with a GIN index,
in place of the `search` column and GIN index on `messages`.

A search lists conversations. Read from `messages`, a common word's conversations cost a visit to
the row of every matching message in the widest table (77 ms for a word in 45,000 messages at a
million conversations, before the repeats are even dropped); from `conversation_words` a visit to
one narrow row a conversation (42 ms), and whether one conversation has the word is one lookup by
key. SQLite's FTS5 index already names each match's conversation (revision 0011).

Triggers keep the rows in step: an INSERT statement adds its messages' words to their
conversations' rows (one upsert a conversation, left alone when it brings no new word); a change
of a message's text or conversation, or its deletion, rebuilds the affected conversations' rows
from their messages (a word cannot be taken out of a union). The words are those of the old
column: `to_tsvector('simple', ...)` with '<' and '>' read as spaces (revision 0001).

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WORDS = "unnest(to_tsvector('simple', translate({row}.text, '<>', '  ')))"

UPGRADE = [
    """CREATE TABLE conversation_words (
        conversation_id bigint PRIMARY KEY,
        words tsvector NOT NULL
    )""",
    f"""INSERT INTO conversation_words (conversation_id, words)
        SELECT m.conversation_id, array_to_tsvector(array_agg(DISTINCT w.lexeme))
        FROM messages m, {WORDS.format(row="m")} w
        GROUP BY m.conversation_id""",  # noqa: S608 (the schema's own names)
    """CREATE INDEX ix_conversation_words ON conversation_words
        USING gin (words) WITH (fastupdate = off)""",
    # a search asks the planner how many conversations have a word: statistics at once, not
    # when autovacuum comes by
    "ANALYZE conversation_words",
    f"""CREATE FUNCTION conversation_words_add() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        -- in key order, so that two statements adding to the same rows lock them alike
        INSERT INTO conversation_words AS known (conversation_id, words)
        SELECT a.conversation_id, array_to_tsvector(array_agg(DISTINCT w.lexeme))
        FROM added a, {WORDS.format(row="a")} w
        GROUP BY a.conversation_id
        ORDER BY a.conversation_id
        ON CONFLICT (conversation_id) DO UPDATE SET words = known.words || excluded.words
        WHERE known.words || excluded.words <> known.words;
        RETURN NULL;
    END $$""",  # noqa: S608 (the schema's own names)
    f"""CREATE FUNCTION conversation_words_renew(conversation bigint) RETURNS void
    LANGUAGE plpgsql AS $$
    DECLARE
        found tsvector;
    BEGIN
        SELECT array_to_tsvector(array_agg(DISTINCT w.lexeme)) INTO found
        FROM messages m, {WORDS.format(row="m")} w
        WHERE m.conversation_id = conversation;
        IF found IS NULL THEN
            DELETE FROM conversation_words WHERE conversation_id = conversation;
        ELSE
            INSERT INTO conversation_words (conversation_id, words) VALUES (conversation, found)
            ON CONFLICT (conversation_id) DO UPDATE SET words = excluded.words;
        END IF;
    END $$""",  # noqa: S608 (the schema's own names)
    """CREATE FUNCTION conversation_words_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM conversation_words_renew(OLD.conversation_id);
        IF TG_OP = 'UPDATE' AND NEW.conversation_id IS DISTINCT FROM OLD.conversation_id THEN
            PERFORM conversation_words_renew(NEW.conversation_id);
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER conversation_words_insert AFTER INSERT ON messages
        REFERENCING NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION conversation_words_add()""",
    """CREATE TRIGGER conversation_words_update AFTER UPDATE OF text, conversation_id ON messages
        FOR EACH ROW
        WHEN (OLD.text IS DISTINCT FROM NEW.text
              OR OLD.conversation_id IS DISTINCT FROM NEW.conversation_id)
        EXECUTE FUNCTION conversation_words_change()""",
    """CREATE TRIGGER conversation_words_delete AFTER DELETE ON messages
        FOR EACH ROW EXECUTE FUNCTION conversation_words_change()""",
    "DROP INDEX ix_messages_search",
    "ALTER TABLE messages DROP COLUMN search",
]

DOWNGRADE = [
    "DROP TRIGGER conversation_words_insert ON messages",
    "DROP TRIGGER conversation_words_update ON messages",
    "DROP TRIGGER conversation_words_delete ON messages",
    "DROP FUNCTION conversation_words_change()",
    "DROP FUNCTION conversation_words_renew(bigint)",
    "DROP FUNCTION conversation_words_add()",
    "DROP TABLE conversation_words",
    """ALTER TABLE messages ADD COLUMN search tsvector
        GENERATED ALWAYS AS (to_tsvector('simple', translate(text, '<>', '  '))) STORED""",
    "CREATE INDEX ix_messages_search ON messages USING gin (search) WITH (fastupdate = off)",
]


def upgrade() -> None:
    _run(UPGRADE)


def downgrade() -> None:
    _run(DOWNGRADE)


def _run(statements: list[str]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for statement in statements:
        op.execute(statement)
