"""The store: SQLAlchemy 2 typed ORM, Alembic migrations (run under a lock), engine helpers.

The names below load on first use, so a command that only opens the store (``groupops runs
list``) does not pay for the ORM's model classes or Alembic."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from groupops.db.engine import make_engine, session_scope
    from groupops.db.models import Base
    from groupops.db.schema import SchemaError, downgrade, ensure_schema, upgrade

_WHERE = {
    "Base": "groupops.db.models",
    "SchemaError": "groupops.db.schema",
    "downgrade": "groupops.db.schema",
    "ensure_schema": "groupops.db.schema",
    "make_engine": "groupops.db.engine",
    "session_scope": "groupops.db.engine",
    "upgrade": "groupops.db.schema",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)


__all__ = [
    "Base",
    "SchemaError",
    "downgrade",
    "ensure_schema",
    "make_engine",
    "session_scope",
    "upgrade",
]
