"""A seeded generator of large canonical bundles for the benchmarks.

``python -m bench.generate OUT --messages 1000000 --groups 200 --members 5000 --seed 7`` writes
``groups.jsonl``, ``members.jsonl``, ``memberships.jsonl`` and ``messages.jsonl`` in the
canonical format (docs/formats.md): four weeks of messages in working hours, Chinese text, replies
and mentions. Vectorised with numpy; 1M messages take a few seconds.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import orjson

SHANGHAI = timezone(timedelta(hours=8))
WORDS = np.array(
    [
        "活动方案",
        "数据日报",
        "需求评审",
        "版本发布",
        "渠道投放",
        "用户反馈",
        "周报",
        "排期",
        "预算",
        "复盘",
    ]
)
VERBS = np.array(
    ["请确认", "已更新", "需要跟进", "明天同步", "今天完成", "辛苦看一下", "收到", "有问题吗"]
)
KINDS = np.array(["text"] * 16 + ["image", "file", "link", "voice"])


def generate(
    out: Path,
    *,
    messages: int,
    groups: int,
    members: int,
    seed: int = 7,
    first_day: int = 0,
    days: int = 28,
    id_prefix: str = "m",
    messages_only: bool = False,
) -> Path:
    """The bundle in ``out``. ``first_day``/``days``/``id_prefix``/``messages_only`` make a
    follow-up bundle (an incremental ingest: new messages after the first bundle's four
    weeks, in the same groups)."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    if messages_only:
        _messages(out, rng, messages=messages, groups=groups, members=members,
                  first_day=first_day, days=days, id_prefix=id_prefix)  # fmt: skip
        return out
    group_ids = [f"g{g:04d}" for g in range(groups)]
    member_ids = [f"u{m:05d}" for m in range(members)]
    with (out / "groups.jsonl").open("wb") as fh:
        for g, gid in enumerate(group_ids):
            owner = member_ids[(g * 7) % members]
            fh.write(
                orjson.dumps(
                    {
                        "platform": "wecom",
                        "group_id": gid,
                        "name": f"运营群{g}",
                        "category": "project",
                        "owner_id": owner,
                        "admin_ids": [member_ids[(g * 7 + 1) % members]],
                    }
                )
                + b"\n"
            )
    with (out / "members.jsonl").open("wb") as fh:
        for m, mid in enumerate(member_ids):
            fh.write(
                orjson.dumps(
                    {
                        "platform": "wecom",
                        "member_id": mid,
                        "display_name": f"成员{m}",
                        "real_name": f"成员{m}",
                        "department": f"部门{m % 12}",
                        "email": f"{mid}@example.com",
                    }
                )
                + b"\n"
            )
    start = datetime(2026, 10, 24, tzinfo=SHANGHAI)
    with (out / "memberships.jsonl").open("wb") as fh:
        for m, mid in enumerate(member_ids):
            at = (start - timedelta(days=1 + m % 30)).isoformat()
            fh.write(
                orjson.dumps(
                    {
                        "platform": "wecom",
                        "group_id": group_ids[m % groups],
                        "member_id": mid,
                        "event": "join",
                        "at": at,
                        "approved_by": member_ids[0],
                    }
                )
                + b"\n"
            )

    _messages(out, rng, messages=messages, groups=groups, members=members, first_day=first_day,
              days=days, id_prefix=id_prefix)  # fmt: skip
    return out


def _messages(
    out: Path,
    rng: np.random.Generator,
    *,
    messages: int,
    groups: int,
    members: int,
    first_day: int,
    days: int,
    id_prefix: str,
) -> None:
    group_ids = [f"g{g:04d}" for g in range(groups)]
    member_ids = [f"u{m:05d}" for m in range(members)]
    start = datetime(2026, 10, 24, tzinfo=SHANGHAI) + timedelta(days=first_day)
    # Four weeks; seconds into the day follow working hours (09:00-18:00) mostly.
    day = rng.integers(0, days, messages)
    second = rng.integers(9 * 3600, 18 * 3600, messages)
    epoch0 = int(start.timestamp())
    sent = np.sort(epoch0 + day * 86400 + second)
    group_of = rng.integers(0, groups, messages)
    # Members belong to a "home" set of groups: sender ~ group-local population.
    sender_of = (group_of * 25 + rng.integers(0, 40, messages)) % members
    mention = np.where(
        rng.random(messages) < 0.08, (sender_of + rng.integers(1, 40, messages)) % members, -1
    )
    reply = np.where(
        rng.random(messages) < 0.15,
        np.maximum(np.arange(messages) - rng.integers(1, 50, messages), 0),
        -1,
    )
    kinds = KINDS[rng.integers(0, len(KINDS), messages)]
    w1 = WORDS[rng.integers(0, len(WORDS), messages)]
    w2 = VERBS[rng.integers(0, len(VERBS), messages)]
    with (out / "messages.jsonl").open("wb") as fh:
        for i in range(messages):
            ment = [member_ids[mention[i]]] if mention[i] >= 0 else []
            text = f"{w1[i]}{w2[i]}" if kinds[i] == "text" else ""
            if ment:
                text = f"@成员{mention[i]} {text}"
            fh.write(
                orjson.dumps(
                    {
                        "platform": "wecom",
                        "group_id": group_ids[group_of[i]],
                        "message_id": f"{id_prefix}{i:08d}",
                        "sender_id": member_ids[sender_of[i]],
                        "sent_at": int(sent[i]),
                        "kind": str(kinds[i]),
                        "text": text,
                        "reply_to": f"{id_prefix}{reply[i]:08d}"
                        if reply[i] >= 0 and group_of[reply[i]] == group_of[i]
                        else None,
                        "mentions": ment,
                        "mention_all": False,
                        "pinned": False,
                    }
                )
                + b"\n"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--members", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    generate(
        args.out, messages=args.messages, groups=args.groups, members=args.members, seed=args.seed
    )


if __name__ == "__main__":
    main()
