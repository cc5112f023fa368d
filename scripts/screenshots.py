"""``python -m scripts.screenshots`` (``make screenshots``): the demo digests as browser
screenshots in ``docs/`` (``digest-zh-CN.png``, ``digest-en.png``).

It ingests the demo bundle into a throwaway SQLite store, builds the richest owner digest
(the owner with the most groups) of the last complete week of the data in both languages, turns
the ``cid:`` images into ``data:`` URIs and photographs the HTML with headless Chromium. Debian's
``chromium`` and ``fonts-noto-cjk`` are installed with apt-get when missing.
"""

from __future__ import annotations

import argparse
import base64
import subprocess
import sys
import tempfile
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from groupops.digest import Digest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
WIDTH = 820


def _apt_install(package: str) -> None:
    print(f"installing {package} with apt-get …", file=sys.stderr)
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", package],
                   check=True, env=env)  # fmt: skip


def ensure_chromium() -> Path:
    if not CHROMIUM.exists():
        _apt_install("chromium")
    return CHROMIUM


def ensure_cjk_font() -> None:
    found = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False)
    if not found.stdout.strip():
        _apt_install("fonts-noto-cjk")


def inline_images(html: str, images: dict[str, bytes]) -> str:
    """Replace ``cid:`` references by ``data:`` URIs so a browser shows the images."""
    for cid, data in images.items():
        html = html.replace(
            f"cid:{cid}", "data:image/png;base64," + base64.b64encode(data).decode()
        )
    return html


def photograph(html_path: Path, png_path: Path, *, width: int = WIDTH) -> None:
    """A full-page screenshot: a tall window, then the empty bottom cropped away."""
    from PIL import Image, ImageChops

    with tempfile.TemporaryDirectory(prefix="groupops-chromium-") as profile:
        subprocess.run(
            [str(ensure_chromium()), *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
             f"--window-size={width},8000", f"--screenshot={png_path}", html_path.as_uri()],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
    with Image.open(png_path) as shot:
        image = shot.convert("RGB")
    background = Image.new("RGB", image.size, image.getpixel((0, image.height - 1)))
    box = ImageChops.difference(image, background).getbbox()
    bottom = min(image.height, (box[3] if box else image.height) + 24)
    image.crop((0, 0, width, bottom)).save(png_path, optimize=True)


def _richness(digest: Digest) -> tuple[int, int, int]:
    """Groups, then listed people (inactive, new, departed), then messages: the fullest digest."""
    groups = digest.context["sections"][0]["data"]["groups"]
    listed = sum(len(g[k]) for g in groups for k in ("inactive_members", "new_members",
                                                      "departed_members"))  # fmt: skip
    return len(groups), listed, int(digest.context["messages_total"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundle", type=Path, default=Path("data/demo"))
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--as-of", help="ISO instant; default: the Monday after the data ends")
    args = parser.parse_args(argv)
    if not args.bundle.exists():
        parser.error(f"{args.bundle}: no demo bundle (run from the project root)")

    from groupops.clock.timeparse import parse_instant
    from groupops.db import make_engine, upgrade
    from groupops.db.queries import load_messages
    from groupops.digest import build_digests, digest_period
    from groupops.digest.deliver import standard_providers
    from groupops.ingest.bundle import open_bundle
    from groupops.ingest.pipeline import run_ingest
    from groupops.mail import render_email
    from groupops.policy import load_policy

    ensure_cjk_font()
    ensure_chromium()
    base_policy = load_policy(
        Path("data/policy.toml") if Path("data/policy.toml").exists() else None
    )
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="groupops-shots-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        upgrade(url)
        engine = make_engine(url)
        run_ingest(open_bundle(args.bundle), engine, base_policy)
        if args.as_of:
            as_of = parse_instant(args.as_of, base_policy.tz)
        else:
            last = load_messages(engine, columns=("sent_at",))["sent_at"].max()
            day = last.tz_convert(base_policy.tz).date()
            monday = day + timedelta(days=7 - day.weekday())
            as_of = datetime.combine(monday, time(9), tzinfo=base_policy.tz)
        period = digest_period("week", as_of, base_policy)
        for language in ("zh-CN", "en"):
            policy = base_policy.model_copy(update={"language": language})
            providers = standard_providers(engine, policy, as_of)
            digests = [
                d
                for d in build_digests(engine, policy, period, providers=providers)
                if d.has_content
            ]
            owners = [d for d in digests if d.scope.audience == "owner"] or digests
            if not owners:
                print(f"nothing to show for {period.label}", file=sys.stderr)
                return 1
            digest = max(owners, key=_richness)
            rendered = render_email("digest", digest.context, language=language,
                                    images=digest.images)  # fmt: skip
            html_path = Path(tmp) / f"digest-{language}.html"
            html_path.write_text(
                inline_images(rendered.html, dict(rendered.images)), encoding="utf-8"
            )
            png_path = args.out / f"digest-{language}.png"
            photograph(html_path, png_path)
            print(f"{png_path}  ({digest.key}: {rendered.subject})")
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
