"""store: on PostgreSQL, a message's group is checked once per statement, not once per row

The foreign key from ``messages`` to ``groups`` ran PostgreSQL's row trigger for every message
written (a ``SELECT … FOR KEY SHARE`` of its group per row): 4.9 of the 8.3 s an ingest's
``INSERT … SELECT`` of 200,000 messages took. It is replaced, on PostgreSQL only, by statement
triggers that do the same for the statement's distinct groups: lock them ``FOR KEY SHARE``
(a concurrent ``DELETE`` of one waits for the commit, as it did for the key) and refuse the
statement with ``foreign_key_violation`` when one is missing; a group's ``DELETE`` takes its
messages with it (was ``ON DELETE CASCADE``); changing the key of a group that has messages is
refused (was ``NO ACTION``); ``TRUNCATE groups CASCADE`` empties ``messages`` too. SQLite keeps
the foreign key (the models still declare it; ``tests/test_store.py`` knows the difference).

Revision ID: store_0003
Revises: archive_0004
Create Date: 2026-12-01 03:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "store_0003"
down_revision: str | None = "archive_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOREIGN_KEY = "fk_messages_platform_group_id_groups"

CHECK = """
CREATE FUNCTION messages_group_exists() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  missing record;
BEGIN
  PERFORM 1 FROM groups AS g
    JOIN (SELECT DISTINCT platform, group_id FROM written) AS w
      ON g.platform = w.platform AND g.group_id = w.group_id
    FOR KEY SHARE OF g;
  SELECT w.platform, w.group_id INTO missing
    FROM (SELECT DISTINCT platform, group_id FROM written) AS w
   WHERE NOT EXISTS (SELECT 1 FROM groups AS g
                      WHERE g.platform = w.platform AND g.group_id = w.group_id)
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'insert or update on table "messages" violates foreign key constraint "%"',
      'fk_messages_platform_group_id_groups'
      USING ERRCODE = 'foreign_key_violation',
            DETAIL = format('Key (platform, group_id)=(%s, %s) is not present in table "groups".',
                            missing.platform, missing.group_id);
  END IF;
  RETURN NULL;
END $$
"""

CASCADE = """
CREATE FUNCTION groups_delete_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM messages AS m USING removed AS r
   WHERE m.platform = r.platform AND m.group_id = r.group_id;
  RETURN NULL;
END $$
"""

KEEP_KEYS = """
CREATE FUNCTION groups_keep_message_keys() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  gone record;
BEGIN
  SELECT b.platform, b.group_id INTO gone FROM previous AS b
   WHERE NOT EXISTS (SELECT 1 FROM groups AS g
                      WHERE g.platform = b.platform AND g.group_id = b.group_id)
     AND EXISTS (SELECT 1 FROM messages AS m
                  WHERE m.platform = b.platform AND m.group_id = b.group_id)
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'update or delete on table "groups" violates foreign key constraint "%" on table "messages"',
      'fk_messages_platform_group_id_groups'
      USING ERRCODE = 'foreign_key_violation',
            DETAIL = format('Key (platform, group_id)=(%s, %s) is still referenced from table "messages".',
                            gone.platform, gone.group_id);
  END IF;
  RETURN NULL;
END $$
"""

TRUNCATE = """
CREATE FUNCTION groups_truncate_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE messages;
  RETURN NULL;
END $$
"""

#: (name, table, what fires it and what it runs)
TRIGGERS: tuple[tuple[str, str, str], ...] = (
    ("messages_group_exists_insert", "messages",
     "AFTER INSERT ON messages REFERENCING NEW TABLE AS written FOR EACH STATEMENT "
     "EXECUTE FUNCTION messages_group_exists()"),
    ("messages_group_exists_update", "messages",
     "AFTER UPDATE ON messages REFERENCING NEW TABLE AS written FOR EACH STATEMENT "
     "EXECUTE FUNCTION messages_group_exists()"),
    ("groups_delete_messages", "groups",
     "AFTER DELETE ON groups REFERENCING OLD TABLE AS removed FOR EACH STATEMENT "
     "EXECUTE FUNCTION groups_delete_messages()"),
    ("groups_keep_message_keys", "groups",
     "AFTER UPDATE ON groups REFERENCING OLD TABLE AS previous FOR EACH STATEMENT "
     "EXECUTE FUNCTION groups_keep_message_keys()"),
    ("groups_truncate_messages", "groups",
     "AFTER TRUNCATE ON groups FOR EACH STATEMENT EXECUTE FUNCTION groups_truncate_messages()"),
)  # fmt: skip

FUNCTIONS = ("messages_group_exists", "groups_delete_messages", "groups_keep_message_keys",
             "groups_truncate_messages")  # fmt: skip


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_constraint(FOREIGN_KEY, "messages", type_="foreignkey")
    for body in (CHECK, CASCADE, KEEP_KEYS, TRUNCATE):
        op.execute(body)
    for name, _table, spec in TRIGGERS:
        op.execute(f"CREATE TRIGGER {name} {spec}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, table, _spec in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    for function in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    op.create_foreign_key(
        FOREIGN_KEY, "messages", "groups", ["platform", "group_id"], ["platform", "group_id"],
        ondelete="CASCADE",
    )  # fmt: skip
