"""Render an email from one context into subject, plain text and HTML.

``render_email("digest", context, language="zh-CN")`` renders ``templates/digest.subject.txt``,
``templates/digest.txt`` and ``templates/digest.html`` with Jinja2:

* HTML is autoescaped, text is not; undefined variables are errors (``StrictUndefined``).
* Shared pieces: ``_base.html`` / ``_base.txt`` (layout: ``{% extends "_base.html" %}`` and fill
  ``title`` / ``content``) and ``_macros.html`` (figure cards, change badges, tables).
* Translations: ``{{ t("key", name=value) }}`` looks the key up in
  :data:`groupops.mail.i18n.CATALOGUE` for the email's ``language``; filters ``num``, ``pct``,
  ``date``, ``datetime`` format numbers and local times for it; lateness (working minutes) goes
  through ``lateness(working_day_minutes)`` and reply times through
  ``duration(working_day_minutes)`` (the one lateness formatter, :mod:`groupops.clock.lateness`). ``language`` is
  also available to the templates as a variable.
* Inline images: pass ``images={"chart-daily": png_bytes}`` and refer to them in HTML as
  ``<img src="cid:chart-daily">``; :func:`groupops.mail.outbox.build_message` attaches them
  by Content-ID.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from groupops.mail import i18n
from groupops.mail.i18n import Language

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"


@dataclass(frozen=True)
class Attachment:
    """A file attached to an email, e.g. a meeting's ``invite.ics`` (``text/calendar`` with
    ``params={"method": "REQUEST"}``)."""

    filename: str
    maintype: str
    subtype: str
    data: bytes
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RenderedEmail:
    """An email ready for the outbox: one-line subject, text and HTML bodies, inline images
    (Content-ID without angle brackets → PNG bytes), attachments."""

    template: str
    language: Language
    subject: str
    text: str
    html: str
    images: Mapping[str, bytes] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()


def _language(ctx: jinja2.runtime.Context) -> Language:
    return i18n.check_language(str(ctx["language"]))


@jinja2.pass_context
def _t(ctx: jinja2.runtime.Context, key: str, **kwargs: object) -> str:
    return i18n.translate(key, _language(ctx), **kwargs)


@jinja2.pass_context
def _num(ctx: jinja2.runtime.Context, value: float | None) -> str:
    return i18n.fmt_num(value, _language(ctx))


@jinja2.pass_context
def _pct(ctx: jinja2.runtime.Context, value: float | None, digits: int = 0) -> str:
    return i18n.fmt_pct(value, _language(ctx), digits)


@jinja2.pass_context
def _duration(ctx: jinja2.runtime.Context, value: float | None, day_minutes: float) -> str:
    return i18n.fmt_duration(value, day_minutes, _language(ctx))


@jinja2.pass_context
def _lateness(ctx: jinja2.runtime.Context, value: float | None, day_minutes: float) -> str:
    return i18n.fmt_lateness(value, day_minutes, _language(ctx))


@jinja2.pass_context
def _date(ctx: jinja2.runtime.Context, value: date | None, weekday: bool = False) -> str:
    return i18n.fmt_date(value, _language(ctx), weekday=weekday)


@jinja2.pass_context
def _datetime(ctx: jinja2.runtime.Context, value: datetime | None) -> str:
    return i18n.fmt_datetime(value, _language(ctx))


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja's file cache of compiled templates (a digest process compiled its ~25 templates
    again each time: ~0.2 s of CPU), in Jinja's per-user temporary folder (mode 0700, owner
    checked). An entry is used only for the same template file, the same source (its SHA-1),
    the same Jinja and Python versions and the same ``kind`` of environment (the card overlay
    compiles the same files with a ``finalize``); a cache that cannot be read or written is
    skipped, never an error (``tests/test_render_cache.py``)."""

    def __init__(self, kind: str, directory: str | None = None) -> None:
        super().__init__(directory, pattern=f"__groupops_{kind}_%s.cache")

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # a damaged entry (any unpickling error): compiled again, rewritten
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):  # not written: compiled again next time
            super().dump_bytecode(bucket)


def _bytecode_cache(kind: str) -> jinja2.BytecodeCache | None:
    """The compiled templates' cache for environments of ``kind``; ``None`` (compile in each
    process) when no safe folder can be made."""
    try:
        return _BytecodeCache(kind)
    except (OSError, RuntimeError):
        return None


@lru_cache(maxsize=8)
def _environment(templates_dir: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        bytecode_cache=_bytecode_cache("email"),
    )
    env.globals["t"] = _t
    env.filters.update(
        num=_num, pct=_pct, duration=_duration, lateness=_lateness, date=_date, datetime=_datetime
    )
    return env


def render_email(
    template: str,
    context: Mapping[str, Any],
    *,
    language: str,
    images: Mapping[str, bytes] | None = None,
    templates_dir: Path | None = None,
    attachments: tuple[Attachment, ...] = (),
) -> RenderedEmail:
    """Render ``<template>.subject.txt``, ``.txt`` and ``.html`` from one context.

    Raises ``jinja2.TemplateNotFound`` for a missing part, ``jinja2.UndefinedError`` for a
    variable the context lacks, ``ValueError`` for an unsupported language."""
    lang = i18n.check_language(language)
    if "language" in context and context["language"] != lang:
        raise ValueError(f"context language {context['language']!r} differs from {lang!r}")
    env = _environment((templates_dir or TEMPLATES_DIR).resolve())
    ctx = {**context, "language": lang}
    subject = env.get_template(f"{template}.subject.txt").render(ctx)
    text = env.get_template(f"{template}.txt").render(ctx)
    html = env.get_template(f"{template}.html").render(ctx)
    return RenderedEmail(
        template=template,
        language=lang,
        subject=" ".join(subject.split()),
        text=_tidy_text(text),
        html=html,
        images=dict(images or {}),
        attachments=attachments,
    )


#: Characters an untrusted value must not bring into a bot's markdown (links, emphasis, quotes,
#: ``<at id=all>`` / ``<font>`` tags): each becomes its full-width form, readable and inert.
_MD_INERT = str.maketrans({"<": "＜", ">": "＞", "[": "［", "]": "］", "*": "＊", "`": "｀",
                           "_": "＿", "~": "～", "#": "＃"})  # fmt: skip


class MarkdownLiteral(str):
    """A value the card template writes as is (a URL, our own markup): ``| raw``."""


def _md_finalize(value: object) -> object:
    """Every ``{{ value }}`` of a card template: made inert unless it is a
    :class:`MarkdownLiteral`; line breaks inside a value are kept inside its line."""
    if isinstance(value, MarkdownLiteral) or not isinstance(value, str):
        return value
    return value.translate(_MD_INERT).replace("\r", " ").replace("\n", " ")


def _raw(value: object) -> MarkdownLiteral:
    """A link target: written as is, with the characters that would end a markdown link
    percent-encoded."""
    return MarkdownLiteral(str(value).replace(" ", "%20").replace(")", "%29").replace("(", "%28"))


@lru_cache(maxsize=8)
def _card_environment(templates_dir: Path) -> jinja2.Environment:
    base = _environment(templates_dir)
    env = base.overlay(finalize=_md_finalize, bytecode_cache=_bytecode_cache("card"))
    env.filters["raw"] = _raw
    return env


@dataclass(frozen=True)
class RenderedCard:
    """A card for a group bot: a title (the email's subject) and a markdown body."""

    template: str
    language: Language
    title: str
    body: str


def render_card(
    template: str,
    context: Mapping[str, Any],
    *,
    language: str,
    templates_dir: Path | None = None,
) -> RenderedCard:
    """Render ``<template>.card.md`` (the body) and ``<template>.subject.txt`` (the title) from
    the email's context: the card and the email never disagree. Every interpolated value is
    made inert for markdown (:data:`_MD_INERT`) unless marked ``| raw``."""
    lang = i18n.check_language(language)
    ctx = {**context, "language": lang}
    env = _card_environment((templates_dir or TEMPLATES_DIR).resolve())
    title = (
        _environment((templates_dir or TEMPLATES_DIR).resolve())
        .get_template(f"{template}.subject.txt")
        .render(ctx)
    )
    body = env.get_template(f"{template}.card.md").render(ctx)
    return RenderedCard(template, lang, " ".join(title.split()), _tidy_text(body))


def _tidy_text(text: str) -> str:
    """Trailing spaces off, at most one blank line in a row, one final newline."""
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    return "\n".join(out).strip("\n") + "\n"
