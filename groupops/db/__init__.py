"""The store: SQLAlchemy 2 typed ORM, Alembic migrations, engine helpers."""

from groupops.db.engine import make_engine, session_scope, upgrade
from groupops.db.models import Base

__all__ = ["Base", "make_engine", "session_scope", "upgrade"]
