"""``python -m scripts.screenshots`` (``make screenshots``): the demo digests as browser
screenshots in ``docs/`` at a phone's width (390 px) and a desktop's (900 px), in both languages
(``digest-zh-CN-390.png``, ``digest-zh-CN-900.png``, ``digest-en-390.png``, ``digest-en-900.png``).

It ingests the demo bundle into a throwaway SQLite store, builds the richest owner digest
(the owner with the most groups) of the last complete week of the data in both languages, turns
the ``cid:`` images into ``data:`` URIs and photographs the HTML with headless Chromium. The CJK
font is the one shipped with the Python dependencies (``groupops.digest.fonts``), handed to
Chromium through a fontconfig file; Debian's ``chromium`` is installed with apt-get when missing.
:func:`measure` reports what a page at a width overflows (``tests/test_screenshots.py``).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
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
WIDTHS = (390, 900)  # a phone's width and a desktop mail client's


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
    """The CJK font ships with the Python dependencies (mplfonts): check it is there."""
    from groupops.digest.fonts import bundled_cjk_font

    if bundled_cjk_font() is None:
        raise SystemExit("the bundled CJK font is missing: run uv sync (package mplfonts)")


def chromium_env(folder: Path) -> dict[str, str]:
    """The environment for Chromium: fontconfig also sees the bundled CJK font."""
    from groupops.digest.fonts import fontconfig_file

    return {**os.environ, "FONTCONFIG_FILE": str(fontconfig_file(folder / "fonts.conf"))}


_MEASURE = """<script>
window.addEventListener("load", function () {
  var w = document.documentElement.clientWidth, out = [];
  document.querySelectorAll("body *").forEach(function (el) {
    var r = el.getBoundingClientRect();
    if (r.width > 0 && (r.right > w + 0.5 || r.left < -0.5)) {
      out.push(el.tagName.toLowerCase() + "." + (el.className || "") + " " + Math.round(r.left)
               + ".." + Math.round(r.right));
    }
  });
  parent.postMessage(JSON.stringify({viewport: w,
    scroll_width: document.documentElement.scrollWidth, overflowing: out.slice(0, 20),
    height: document.documentElement.scrollHeight, text: document.body.innerText}), "*");
});
</script>"""

# Chromium's headless window is at least 500 px wide: narrower pages are laid out in a frame of
# the exact width, which reports its measurements (and height) to this wrapper.
_FRAME = """<!DOCTYPE html><html><head><meta charset="utf-8">
<style>html, body {{ margin: 0; padding: 0; background: #f1f4f8; }}
iframe {{ display: block; border: 0; width: {width}px; height: 8000px; }}</style></head><body>
<iframe id="page" src="page.html"></iframe>
<script>
window.addEventListener("message", function (e) {{
  var data = JSON.parse(e.data);
  document.getElementById("page").style.height = data.height + "px";
  var pre = document.createElement("pre");
  pre.id = "groupops-measure";
  pre.style.display = "none";
  pre.textContent = e.data;
  document.body.appendChild(pre);
}});
</script></body></html>"""


def _framed(folder: Path, html: str, width: int) -> Path:
    """``html`` as ``page.html`` inside a ``width`` px frame (``frame.html``) in ``folder``."""
    (folder / "page.html").write_text(
        html.replace("</body>", _MEASURE + "</body>"), encoding="utf-8"
    )
    frame = folder / "frame.html"
    frame.write_text(_FRAME.format(width=width), encoding="utf-8")
    return frame


def measure(html: str, width: int) -> dict[str, object]:
    """Lay ``html`` out in headless Chromium ``width`` px wide: the viewport, the page's
    scroll width, the elements sticking out of the viewport and the visible text."""
    import html as html_lib

    with tempfile.TemporaryDirectory(prefix="groupops-measure-") as tmp:
        folder = Path(tmp)
        frame = _framed(folder, html, width)
        done = subprocess.run(
            [str(ensure_chromium()), *CHROMIUM_FLAGS, f"--user-data-dir={folder / 'profile'}",
             "--window-size=1000,2000", "--virtual-time-budget=10000", "--dump-dom",
             frame.as_uri()],
            check=True, capture_output=True, text=True, timeout=180, env=chromium_env(folder),
        )  # fmt: skip
    found = re.search(r'<pre id="groupops-measure"[^>]*>(.*?)</pre>', done.stdout, re.S)
    if found is None:
        raise RuntimeError(f"no measurement in Chromium's DOM: {done.stderr[-500:]}")
    result: dict[str, object] = json.loads(html_lib.unescape(found.group(1)))
    return result


def inline_images(html: str, images: dict[str, bytes]) -> str:
    """Replace ``cid:`` references by ``data:`` URIs so a browser shows the images."""
    for cid, data in images.items():
        html = html.replace(
            f"cid:{cid}", "data:image/png;base64," + base64.b64encode(data).decode()
        )
    return html


def photograph(html_path: Path, png_path: Path, *, width: int = WIDTH) -> None:
    """A full-page screenshot ``width`` px wide (in a frame of that width: Chromium's window is
    at least 500 px): a tall window, then the empty bottom and right cropped away."""
    from PIL import Image, ImageChops

    with tempfile.TemporaryDirectory(prefix="groupops-chromium-") as tmp:
        frame = _framed(Path(tmp), html_path.read_text(encoding="utf-8"), width)
        subprocess.run(
            [str(ensure_chromium()), *CHROMIUM_FLAGS, f"--user-data-dir={Path(tmp) / 'profile'}",
             f"--window-size={max(width, 500)},8000", "--virtual-time-budget=10000",
             f"--screenshot={png_path.resolve()}", frame.as_uri()],
            check=True, capture_output=True, timeout=180, env=chromium_env(Path(tmp)),
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
                for d in build_digests(engine, policy, period, providers=providers, as_of=as_of)
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
            for width in WIDTHS:
                png_path = args.out / f"digest-{language}-{width}.png"
                photograph(html_path, png_path, width=width)
                print(f"{png_path}  ({digest.key}: {rendered.subject})")
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
