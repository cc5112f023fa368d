"""``python -m scripts.moderation_screenshots`` (part of ``make screenshots``): the moderation
emails of the demo as browser screenshots in ``docs/``: to the member, to the group's admins and
to the department head, in zh-CN and en (``moderation-member-zh-CN.png`` …).

It ingests the demo bundle (with its roster) into a throwaway SQLite store per language, runs one
moderation at the demo's ``as_of`` and photographs the HTML part of the stored ``.eml`` files of
the member who climbs the whole ladder (多多 in 市场运营群: her removal's notices) with headless
Chromium (see :mod:`scripts.screenshots`).
"""

from __future__ import annotations

import argparse
import email
import json
import sys
import tempfile
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

from scripts.screenshots import ensure_chromium, ensure_cjk_font, photograph

AUDIENCES = ("member", "admins", "department")


def html_part(path: Path) -> str:
    message = email.message_from_bytes(path.read_bytes(), policy=default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("html",))
    assert body is not None
    return str(body.get_content())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundle", type=Path, default=Path("data/demo"))
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args(argv)
    planted = json.loads((args.bundle / "planted.json").read_text(encoding="utf-8"))
    decided = planted["violations"]["decided"]
    # The member's last violation: a removal, so all three audiences were written to.
    target = next(d for d in decided if d["penalty"] == "removal" and d["category"] == "vulgar")

    from groupops.clock.timeparse import parse_instant
    from groupops.db import make_engine, upgrade
    from groupops.ingest.bundle import open_bundle
    from groupops.ingest.pipeline import run_ingest
    from groupops.moderation.run import moderate
    from groupops.moderation.store import load_violations
    from groupops.policy import load_policy

    ensure_cjk_font()
    ensure_chromium()
    base = load_policy(Path("data/policy.toml"))
    as_of = parse_instant(planted["as_of"], base.tz)
    args.out.mkdir(parents=True, exist_ok=True)
    for language in ("zh-CN", "en"):
        policy = base.model_copy(update={"language": language})
        with tempfile.TemporaryDirectory(prefix="groupops-mod-shots-") as tmp:
            url = f"sqlite:///{Path(tmp) / 'demo.db'}"
            upgrade(url)
            engine = make_engine(url)
            run_ingest(open_bundle(args.bundle), engine, policy, now=as_of)
            outbox = Path(tmp) / "outbox"
            moderate(engine, policy, as_of, now=datetime.now(UTC), sender="groupops@example.com",
                     outbox_dir=outbox)  # fmt: skip
            (violation,) = [
                v for v in load_violations(engine) if list(v.message_ids) == target["message_ids"]
            ]
            engine.dispose()
            for audience in AUDIENCES:
                slug = f"moderation_violation_{violation.id}_{audience}"
                (eml,) = sorted(outbox.glob(f"*{slug}.eml"))
                html_path = Path(tmp) / f"{audience}-{language}.html"
                html_path.write_text(html_part(eml), encoding="utf-8")
                png = args.out / f"moderation-{audience}-{language}.png"
                photograph(html_path, png, width=640)
                print(png, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
