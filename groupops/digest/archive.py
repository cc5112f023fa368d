"""The admins' digest *cleanup* section (rulebook ch. 3(四)): per group, what the latest
cleanup preview found waiting ("12 stale notices: preview, run cleanup to apply"), by reason,
and the platform recalls left to the admins (to-dos where no connector can recall).

The weekly preview (deployment ``cleanup-weekly-preview``, Monday 08:30) is logged in
``cleanup_runs``; this section reads the newest run up to the digest's ``as_of`` that covered
each group. An applied run after it leaves nothing waiting. Each group with messages waiting is
also one item of the Needs-you block's ``cleanup`` slot (:mod:`groupops.digest.actions`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from groupops.archive.store import load_actions, load_runs
from groupops.db.queries import load_groups
from groupops.digest.context import DigestScope, Section, SectionProvider
from groupops.mail.i18n import Language, translate
from groupops.policy import Policy

#: Audiences that get the section: the group's admins.
AUDIENCES = ("admin",)


def latest_runs(runs: list[dict[str, Any]], as_of: datetime) -> dict[str, dict[str, Any]]:
    """group id → the newest logged run up to ``as_of`` that covered it (``runs`` newest
    first, as :func:`groupops.archive.store.load_runs` gives them); a run of every group
    covers each group it saw (its guard lists them)."""
    out: dict[str, dict[str, Any]] = {}
    for run in runs:
        if run["as_of"] > as_of:
            continue
        covered = run["groups"] or [g["group_id"] for g in run["detail"].get("guard", [])]
        for group_id in covered:
            out.setdefault(group_id, run)
    return out


def archive_provider(engine: sa.Engine, policy: Policy, as_of: datetime) -> SectionProvider:
    """A section provider for :func:`groupops.digest.context.build_digest`."""
    tz = policy.tz
    latest = latest_runs(load_runs(engine), as_of)
    todos = [a for a in load_actions(engine) if a["status"] in ("todo", "failed")]
    groups = load_groups(engine)
    names = {
        (str(p), str(g)): str(n)
        for p, g, n in zip(groups["platform"], groups["group_id"], groups["name"], strict=True)
    } if not groups.empty else {}  # fmt: skip

    def provide(scope: DigestScope, language: Language) -> Section | None:
        if scope.audience not in AUDIENCES:
            return None
        waiting, recalls, needs = [], [], []
        for group_id in scope.groups:
            run = latest.get(group_id)
            if run is None or run["mode"] != "preview":
                continue
            mine = [c for c in run["detail"].get("candidates", []) if c["group_id"] == group_id]
            if not mine:
                continue
            reasons: dict[str, int] = {}
            for c in mine:
                reasons[c["reason"]] = reasons.get(c["reason"], 0) + 1
            waiting.append(
                {
                    "group": names.get((scope.platform, group_id), group_id),
                    "group_id": group_id,
                    "count": len(mine),
                    "reasons": [
                        {"reason": translate(f"archive.reason.{r}", language), "count": n}
                        for r, n in sorted(reasons.items())
                    ],
                    "run_id": run["run_id"],
                    "as_of": run["as_of"].astimezone(tz),
                    "refused": bool(run["refused"]),
                }
            )
            group = names.get((scope.platform, group_id), group_id)
            listed = "、" if language == "zh-CN" else ", "
            needs.append(
                {
                    "slot": "cleanup",
                    "group": group,
                    "who": group,
                    "what": "needs.what.cleanup",
                    "todo": "needs.todo.cleanup",
                    "todo_args": {
                        "run_id": run["run_id"],
                        "n": len(mine),
                        "group_id": group_id,
                        "reasons": listed.join(
                            f"{translate(f'archive.reason.{r}', language)} {n}"
                            for r, n in sorted(reasons.items())
                        ),
                    },
                }
            )
        for a in todos:
            if a["platform"] == scope.platform and a["group_id"] in scope.groups:
                recalls.append(
                    {
                        "group": names.get((a["platform"], a["group_id"]), a["group_id"]),
                        "message_id": a["message_id"],
                        "action": translate(f"archive.action.{a['action']}", language),
                        "failed": a["status"] == "failed",
                        "run_id": a["run_id"],
                    }
                )
        return Section(
            id="archive",
            template="archive",
            title=translate("digest.archive.title", language),
            data={"waiting": waiting, "todos": recalls, "as_of": as_of.astimezone(tz)},
            has_content=bool(waiting or recalls),
            actions=tuple(needs),
        )

    return provide
