"""A chapter's new plant leaves every other chapter's bytes as they were (docs/demo.md): its
messages get ids of their own series, its randomness its own stream, and the facts it plants
(here: a member goes silent) drop the chatter that contradicts them, whole, without moving any
other id."""

from __future__ import annotations

import json
from typing import Any

from groupops.demo.builder import Msg, Planter, Role
from groupops.demo.chapter import Chapter
from groupops.demo.chapters import CHAPTERS
from groupops.demo.generator import generate
from groupops.demo.period import DEFAULT_SEED, local

SILENT, GROUP, FROM = "lihao", "prod-ops", "11-19 09:00"


def plant_probe(p: Planter) -> list[Msg]:
    text = p.rng.choice(["李浩这周在外地培训，需求的事先找王磊", "李浩这周外出培训"])
    p.silence(SILENT, GROUP, local(FROM))
    return [p.add(GROUP, "chenjing", local(FROM), text, Role("probe"))]


def probe_record(planted: list[Msg], b: object) -> dict[str, Any]:
    return {"probe": [m.message_id for m in planted]}


PROBE = Chapter(name="probe", plant=plant_probe, record=probe_record)


def lines(records: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(r, ensure_ascii=False) for r in records]


def test_a_new_plant_changes_no_other_chapters_bytes() -> None:
    before = generate(DEFAULT_SEED)
    after = generate(DEFAULT_SEED, (*CHAPTERS, PROBE))

    assert after["planted"]["probe"] == [f"{GROUP}-probe-0001"]
    assert list(after["planted"]) == [*before["planted"], "probe"]
    assert {k: v for k, v in after["planted"].items() if k != "probe"} == before["planted"]
    for stem in ("groups", "members", "memberships"):
        assert lines(after[stem]) == lines(before[stem])

    kept = [m for m in after["messages"] if "-probe-" not in m["message_id"]]
    assert set(lines(kept)) <= set(lines(before["messages"]))
    dropped = [m for m in before["messages"] if m not in kept]
    # The silence dropped the conversations it contradicts (some of them only), nothing else.
    assert any(m["sender_id"] == SILENT for m in dropped)
    assert len(dropped) < 60
    assert all(m["group_id"] == GROUP and m["sent_at"] >= "2026-11-18" for m in dropped)
    assert not [
        m
        for m in after["messages"]
        if m["sender_id"] == SILENT and m["group_id"] == GROUP and m["sent_at"] >= "2026-11-19T09"
    ]
