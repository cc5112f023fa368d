"""The member directory: who a platform id is, the name to show, their department and email.

One rule for the name (实名制, rulebook ch. 1): a member's **real name** where the directory has
one, else their display name, else the bare id. Every email, digest, reminder and CLI table
shows people through :meth:`Directory.name`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    import pandas as pd

    from groupops.mail import Recipient


def _text(value: object) -> str | None:
    """A non-empty string, or ``None`` for missing values (None, NaN, NA, "")."""
    if isinstance(value, str):  # what the store returns: no pandas needed to tell
        return value.strip() or None
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    import pandas as pd  # only a frame's cells can be pandas' NA

    if value is pd.NA:
        return None
    text = str(value).strip()
    return text or None


@dataclass(frozen=True, slots=True)
class Person:
    platform: str
    member_id: str
    display_name: str | None = None
    real_name: str | None = None
    department: str | None = None
    email: str | None = None

    @property
    def name(self) -> str:
        """The real name, else the display name, else the id (实名制)."""
        return self.real_name or self.display_name or self.member_id

    @property
    def mailbox(self) -> str | None:
        """The email address when it looks like one (``local@domain``)."""
        return self.email if self.email and "@" in self.email else None


_COLUMNS = ("platform", "member_id", "display_name", "real_name", "department", "email")


class Directory:
    """``(platform, member_id) → Person``; unknown ids are shown as themselves."""

    def __init__(self, people: Iterable[Person] = ()) -> None:
        self._people = {(p.platform, p.member_id): p for p in people}

    @classmethod
    def from_frame(cls, members: pd.DataFrame) -> Directory:
        """From a ``load_members`` frame (platform, member_id, display_name, real_name,
        department, email)."""
        rows: list[Mapping[Any, Any]] = list(members.to_dict("records")) if len(members) else []
        return cls(
            Person(
                str(row["platform"]),
                str(row["member_id"]),
                _text(row.get("display_name")),
                _text(row.get("real_name")),
                _text(row.get("department")),
                _text(row.get("email")),
            )
            for row in rows
        )

    @classmethod
    def load(cls, engine: sa.Engine) -> Directory:
        """The stored directory, read as rows (no pandas: commands that only show names stay
        light); the same people as :meth:`from_frame` of ``load_members`` (tests/test_roster.py
        checks)."""
        from groupops.db.models import Member

        table = Member.__table__
        columns = [table.c[name] for name in _COLUMNS]
        with engine.connect() as conn:
            rows = conn.execute(sa.select(*columns)).all()
        return cls(
            Person(str(p), str(m), _text(name), _text(real), _text(dept), _text(email))
            for p, m, name, real, dept, email in rows
        )

    def __len__(self) -> int:
        return len(self._people)

    def get(self, platform: str, member_id: str) -> Person | None:
        return self._people.get((platform, member_id))

    def person(self, platform: str, member_id: str) -> Person:
        """The known person, or one with only the id."""
        return self.get(platform, member_id) or Person(platform, member_id)

    def name(self, platform: str, member_id: object) -> str:
        """The name to show (see :attr:`Person.name`); ``""`` for a missing id."""
        if not isinstance(member_id, str) or not member_id:
            return ""
        return self.person(platform, member_id).name

    def names(self, platform: pd.Series, member_ids: pd.Series) -> pd.Series:
        """:meth:`name` of each (platform, member id) pair, aligned with ``member_ids``."""
        import pandas as pd

        return pd.Series(
            [self.name(str(p), m) for p, m in zip(platform, member_ids, strict=True)],
            index=member_ids.index,
            dtype="object",
        )

    def department(self, platform: str, member_id: str) -> str | None:
        return self.person(platform, member_id).department

    def recipient(self, platform: str, member_id: str) -> Recipient | None:
        """The member as an email recipient (real name shown), or ``None`` without an email."""
        from groupops.mail import Recipient  # the mail package (jinja2, email-validator) on use

        person = self.person(platform, member_id)
        mailbox = person.mailbox
        return Recipient(mailbox, person.name) if mailbox else None

    def recipients(self, platform: str, member_ids: Iterable[str]) -> list[Recipient]:
        """Those of ``member_ids`` with an email, in order."""
        out = []
        for member_id in member_ids:
            recipient = self.recipient(platform, member_id)
            if recipient is not None:
                out.append(recipient)
        return out
