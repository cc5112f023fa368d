"""The company's HR roster (rulebook ch. 1–2): who is an employee, their real name and
department, whether they left, and their department head — matched to platform members.

Loaded by the validated ingest into the ``roster`` table (``groupops ingest roster.csv --format
roster``). A member is matched to a roster entry by a listed platform id (``platform:id`` or a
bare id in ``member_ids``) or else by e-mail address (case-insensitive).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from groupops.db.models import Member, RosterEntry


@dataclass(frozen=True, slots=True)
class Employee:
    employee_id: str
    real_name: str
    department: str | None
    status: str  # active | departed | external
    email: str | None
    department_head_email: str | None
    member_ids: tuple[str, ...]
    departed_at: datetime | None


class Roster:
    """The roster entries and the member → entry mapping for one store."""

    def __init__(
        self, employees: Iterable[Employee], member_emails: Mapping[tuple[str, str], str] = {}
    ) -> None:
        self.employees = {e.employee_id: e for e in employees}
        self._by_id: dict[str, Employee] = {}
        self._by_platform_id: dict[tuple[str, str], Employee] = {}
        self._by_email: dict[str, Employee] = {}
        for e in self.employees.values():
            for ref in e.member_ids:
                platform, sep, member_id = ref.partition(":")
                if sep and member_id and not ref.startswith("@"):
                    self._by_platform_id[(platform, member_id)] = e
                else:
                    self._by_id[ref] = e
            if e.email:
                self._by_email[e.email.strip().lower()] = e
        self._member_emails = {k: v.strip().lower() for k, v in member_emails.items() if v}

    def __len__(self) -> int:
        return len(self.employees)

    @classmethod
    def load(cls, engine: sa.Engine) -> Roster:
        with Session(engine) as session:
            rows = session.execute(sa.select(RosterEntry)).scalars().all()
            employees = [
                Employee(
                    r.employee_id,
                    r.real_name,
                    r.department,
                    r.status,
                    r.email,
                    r.department_head_email,
                    tuple(r.member_ids or ()),
                    r.departed_at,
                )
                for r in rows
            ]
            # The directory's e-mails, read as rows (no pandas; load_members' frame holds the
            # same values: tests/test_roster_engines.py).
            table = Member.__table__
            members = session.execute(
                sa.select(table.c.platform, table.c.member_id, table.c.email)
            ).all()
        emails = {(str(p), str(m)): str(e) for p, m, e in members if isinstance(e, str) and e}
        return cls(employees, emails)

    def employee(self, platform: str, member_id: str) -> Employee | None:
        """The roster entry of a member, by platform id, then bare id, then e-mail."""
        found = self._by_platform_id.get((platform, member_id)) or self._by_id.get(member_id)
        if found is not None:
            return found
        email = self._member_emails.get((platform, member_id))
        return self._by_email.get(email) if email else None

    def by_email(self, email: str) -> Employee | None:
        return self._by_email.get(email.strip().lower())

    def department_head_email(self, platform: str, member_id: str) -> str | None:
        employee = self.employee(platform, member_id)
        return employee.department_head_email if employee else None
