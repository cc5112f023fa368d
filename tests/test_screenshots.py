"""The digest on a phone (390 px) and a desktop (900 px), in headless Chromium, in both
languages: no element is wider than the viewport, and every character shown has a glyph in the
CJK font the email asks for (shipped with the Python dependencies: no fallback glyph)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

import pytest
import sqlalchemy as sa
from fontTools.ttLib import TTFont

from groupops.digest import build_digests, digest_period
from groupops.digest.deliver import standard_providers
from groupops.digest.fonts import bundled_cjk_font
from groupops.ingest import open_bundle, run_ingest
from groupops.mail import render_email
from groupops.mail.i18n import Language
from groupops.policy import Policy
from scripts.screenshots import inline_images, measure

MONDAY = datetime(2026, 11, 23, 9, tzinfo=Policy().tz)  # the week 11-16 .. 11-22 is complete


@lru_cache(maxsize=1)
def _glyphs() -> frozenset[int]:
    path = bundled_cjk_font()
    assert path is not None, "the bundled CJK font (mplfonts) is missing"
    return frozenset(TTFont(str(path), lazy=True).getBestCmap())


@pytest.fixture
def pages(engine: sa.Engine) -> dict[str, str]:
    """The richest owner digest of the demo's last full week, as HTML with inline charts."""
    base = Policy()
    run_ingest(open_bundle("data/demo"), engine, base)
    out = {}
    for language in ("zh-CN", "en"):
        policy = base.model_copy(update={"language": language})
        period = digest_period("week", MONDAY, policy)
        digests = build_digests(engine, policy, period, as_of=MONDAY,
                                providers=standard_providers(engine, policy, MONDAY))  # fmt: skip
        owners = [d for d in digests if d.scope.audience == "owner" and not d.held]
        digest = max(owners, key=lambda d: d.context["needs_you"]["total"])
        rendered = render_email("digest", digest.context, language=language, images=digest.images)
        out[language] = inline_images(rendered.html, dict(rendered.images))
    return out


@pytest.mark.parametrize("width", [390, 900])
@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_nothing_is_wider_than_the_screen_and_every_glyph_is_there(
    pages: dict[str, str], language: Language, width: int
) -> None:
    page = measure(pages[language], width)
    assert page["viewport"] == width
    assert page["overflowing"] == [], page["overflowing"]
    assert page["scroll_width"] == width
    text = str(page["text"])
    assert ("需要您处理" if language == "zh-CN" else "Needs you") in text
    missing = sorted({ch for ch in text if not ch.isspace() and ord(ch) not in _glyphs()})
    assert missing == [], f"characters without a glyph in the bundled font: {missing}"


def test_a_table_that_would_overflow_is_caught() -> None:
    """The measurement itself: a fixed-width table sticks out of a phone's screen."""
    page = measure(
        '<html><body><table style="width:700px"><tr><td>x</td></tr></table></body></html>', 390
    )
    assert page["viewport"] == 390 and page["overflowing"]
