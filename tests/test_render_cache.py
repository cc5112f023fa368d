"""The compiled templates' cache (``groupops.mail.render._BytecodeCache``): a warm cache renders
exactly what compiling renders, without compiling; a changed template is compiled again; the
card overlay (a ``finalize``) never takes the email environment's code for the same file; a cache
that cannot be written or read is skipped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jinja2
import pytest

from groupops.mail import render
from groupops.mail.render import render_card, render_email

CONTEXT = {"name": "<b>张三</b> & co", "items": [1, 2, 3], "share": 0.25}
FILES = {
    "_base.html": "<html>{% block content %}{% endblock %}</html>\n",
    "_macros.html": "{% macro row(v) %}<td>{{ v|num }}</td>{% endmacro %}\n",
    "mail.subject.txt": "{{ t('digest.period.week') }} {{ name }}\n",
    "mail.txt": "{% for i in items %}- {{ i }}\n{% endfor %}{{ name }} {{ share|pct }}\n",
    "mail.html": (
        '{% extends "_base.html" %}{% import "_macros.html" as m with context %}'
        "{% block content %}<p>{{ name }}</p>{% for i in items %}{{ m.row(i) }}{% endfor %}"
        "{% endblock %}\n"
    ),
    "mail.card.md": "**{{ name }}** [link]({{ name|raw }})\n",
}


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    folder.mkdir()
    for name, text in FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "cache"
    folder.mkdir()
    monkeypatch.setattr(
        render, "_bytecode_cache", lambda kind: render._BytecodeCache(kind, str(folder))
    )
    fresh()
    yield folder
    fresh()


def fresh() -> None:
    """As a new process: no environment (and no compiled template) kept in memory."""
    render._environment.cache_clear()
    render._card_environment.cache_clear()


def both(templates: Path) -> tuple[render.RenderedEmail, render.RenderedCard]:
    email = render_email("mail", CONTEXT, language="zh-CN", templates_dir=templates)
    card = render_card("mail", CONTEXT, language="zh-CN", templates_dir=templates)
    return email, card


def no_compiling(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("compiled although the cache holds the template")

    monkeypatch.setattr(jinja2.Environment, "compile", refuse)


def test_warm_cache_renders_the_same_without_compiling(
    templates: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cold = both(templates)
    names = sorted(p.name for p in cache_dir.iterdir())
    assert any(n.startswith("__groupops_email_") for n in names)
    assert any(n.startswith("__groupops_card_") for n in names)
    fresh()
    with monkeypatch.context() as m:
        no_compiling(m)
        warm = both(templates)
    assert warm == cold
    # and the same as without any cache
    monkeypatch.setattr(render, "_bytecode_cache", lambda kind: None)
    fresh()
    assert both(templates) == cold
    assert "&lt;b&gt;" in cold[0].html and "<b>张三</b>" in cold[0].text  # autoescape kept
    assert "＜b＞" in cold[1].body  # the card's finalize kept


def test_changed_template_is_compiled_again(templates: Path, cache_dir: Path) -> None:
    before, _ = both(templates)
    (templates / "mail.txt").write_text("changed {{ name }}\n", encoding="utf-8")
    fresh()
    after, _ = both(templates)
    assert after.text == "changed <b>张三</b> & co\n"
    assert after.html == before.html


def test_card_never_takes_the_email_code(
    templates: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the same file through both environments: the email's compiled code has no finalize
    (templates / "mail.card.md").write_text("{{ name }}\n", encoding="utf-8")
    (templates / "plain.subject.txt").write_text("s\n", encoding="utf-8")
    (templates / "plain.txt").write_text("{{ name }}\n", encoding="utf-8")
    (templates / "plain.html").write_text("{% include 'mail.card.md' %}\n", encoding="utf-8")
    (templates / "plain.card.md").write_text("{% include 'mail.card.md' %}\n", encoding="utf-8")
    email = render_email("plain", CONTEXT, language="zh-CN", templates_dir=templates)
    card = render_card("plain", CONTEXT, language="zh-CN", templates_dir=templates)
    fresh()
    card_warm = render_card("plain", CONTEXT, language="zh-CN", templates_dir=templates)
    email_warm = render_email("plain", CONTEXT, language="zh-CN", templates_dir=templates)
    assert (card_warm, email_warm) == (card, email)
    assert card.body == "＜b＞张三＜/b＞ & co\n"
    assert email.html == "<b>张三</b> & co\n"  # an included .md is not autoescaped


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_unusable_cache_folder_is_skipped(
    templates: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    folder = tmp_path / kind  # a folder that is not there, or a file: nothing can be written
    if kind == "file":
        folder.write_text("x", encoding="utf-8")
    monkeypatch.setattr(
        render, "_bytecode_cache", lambda kind: render._BytecodeCache(kind, str(folder))
    )
    fresh()
    first = both(templates)
    fresh()
    assert both(templates) == first
    assert not folder.is_dir()
    monkeypatch.setattr(render, "_bytecode_cache", lambda kind: None)
    fresh()
    assert both(templates) == first
    fresh()


def test_damaged_cache_entries_are_compiled_again(templates: Path, cache_dir: Path) -> None:
    first = both(templates)
    entries = list(cache_dir.iterdir())
    assert entries
    for i, entry in enumerate(entries):
        data = entry.read_bytes()
        # cut short, or the right header with garbage after it
        entry.write_bytes(data[: len(data) // 2] if i % 2 else data[:40] + b"\x00garbage")
    fresh()
    assert both(templates) == first


def test_the_real_environment_has_a_cache() -> None:
    fresh()
    env = render._environment(render.TEMPLATES_DIR.resolve())
    card = render._card_environment(render.TEMPLATES_DIR.resolve())
    assert isinstance(env.bytecode_cache, render._BytecodeCache)
    assert isinstance(card.bytecode_cache, render._BytecodeCache)
    assert env.bytecode_cache.pattern != card.bytecode_cache.pattern
