"""The store: SQLAlchemy 2 typed ORM, Alembic migrations (run under a lock), engine helpers."""

from groupops.db.engine import make_engine, session_scope
from groupops.db.models import Base
from groupops.db.schema import SchemaError, downgrade, ensure_schema, upgrade

__all__ = [
    "Base",
    "SchemaError",
    "downgrade",
    "ensure_schema",
    "make_engine",
    "session_scope",
    "upgrade",
]
