"""Tables that fit the terminal without breaking what a reader copies.

An id, a name or a path split across two lines cannot be copied back into a command, so such
columns (``keep=True``) are printed whole, on one line. When the table does not fit the
console's width (80 columns in a pipe or CI), columns marked droppable are left out, highest
``drop`` first, and a note says which; then columns marked ``stack`` are folded under the
column before them (one cell, two lines: ``group`` over ``message``). If it still does not fit,
every row is printed as a small record, one ``column: value`` per line. Free-text columns
(reasons, raw lines, subjects) wrap.

Every command prints its tables through :func:`print_table`; ``tests/test_cli_tables.py``
checks the commands at 80 columns.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cli.app import console as default_console

#: Narrowest a wrapping column is squeezed to before columns are dropped.
MIN_WRAP_WIDTH = 10

# Control characters a terminal would obey (ESC starts a colour or cursor sequence, CSI too):
# C0 except tab and newline, DEL, and C1.
# What Rich reads as a tag (rich.markup.RE_TAGS), with the backslashes before it. Unlike
# rich.markup.escape, a trailing backslash is left alone: it shows as written (every caller
# puts a space or a line break between an escaped value and its own markup).
_MARKUP_TAG = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])")
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def visible(value: object) -> str:
    """``value`` as text a terminal shows and never obeys: control characters become their
    visible Control Pictures (ESC → ␛), C1 ones U+FFFD."""
    text = str(value)
    if text.isprintable():
        return text
    return _CONTROLS.sub(
        lambda m: chr(0x2400 + ord(m[0])) if m[0] < " " else ("␡" if m[0] == "\x7f" else "\ufffd"),
        text,
    )


def safe(value: object) -> str:
    """Untrusted text (a name, a message text, a path, a reason) to put inside Rich markup:
    shown as it is, never read as markup (``[bold]``, ``[/x]``, ``[link=…]``) nor as a terminal
    control sequence. Every command prints input-derived text through this or as a ``Text``."""
    return _MARKUP_TAG.sub(lambda m: f"{m[1]}{m[1]}\\{m[2]}", visible(value))


@dataclass(frozen=True)
class Col:
    """One column: ``keep`` for ids, names and paths (never split); ``drop`` > 0 lets the column
    be left out when the table is too wide (higher numbers go first); ``stack`` lets it fold
    under the column before it; ``markup`` when its cells carry Rich markup written by groupops
    (never for text from input, which is escaped)."""

    name: str
    keep: bool = False
    drop: int = 0
    stack: bool = False
    justify: Literal["left", "right"] = "left"
    markup: bool = False


def _plain(value: str, markup: bool) -> str:
    return Text.from_markup(value, emoji=False).plain if markup else visible(value)


def _width(value: str, markup: bool) -> int:
    return max((cell_len(line) for line in _plain(value, markup).split("\n")), default=0)


def _needed(cols: Sequence[Col], rows: Sequence[Sequence[str]], which: list[int]) -> int:
    """Cells needed for the columns ``which`` (Rich's default box: a border between columns
    and at both edges, one space of padding on each side of a cell)."""
    total = 1
    for i in which:
        col = cols[i]
        natural = max([cell_len(col.name), *(_width(r[i], col.markup) for r in rows)])
        fixed = col.keep or col.justify == "right"  # ids and numbers never wrap
        total += (natural if fixed else min(natural, MIN_WRAP_WIDTH)) + 3
    return total


def fitting_columns(
    cols: Sequence[Col], rows: Sequence[Sequence[str]], width: int
) -> list[int] | None:
    """Indices of the columns to show within ``width`` cells; ``None`` when even without every
    droppable column the table does not fit (print records instead)."""
    shown = list(range(len(cols)))
    droppable = sorted((i for i, c in enumerate(cols) if c.drop > 0), key=lambda i: -cols[i].drop)
    while _needed(cols, rows, shown) > width:
        if not droppable:
            return None
        shown.remove(droppable.pop(0))
    return shown


def _stacked(
    cols: Sequence[Col], rows: Sequence[Sequence[str]], shown: list[int]
) -> tuple[list[Col], list[list[str]]]:
    """Each shown ``stack`` column folded under the shown column before it."""
    groups: list[list[int]] = []
    for i in shown:
        if cols[i].stack and groups:
            groups[-1].append(i)
        else:
            groups.append([i])
    merged = [
        Col(
            " / ".join(cols[i].name for i in g),
            keep=any(cols[i].keep for i in g),
            drop=min(cols[i].drop for i in g),
            justify=cols[g[0]].justify,
            markup=any(cols[i].markup for i in g),
        )
        for g in groups
    ]
    merged_rows = [
        ["\n".join(_as(row[i], cols[i], merged[n].markup) for i in g) for n, g in enumerate(groups)]
        for row in rows
    ]
    return merged, merged_rows


def _as(value: str, col: Col, markup: bool) -> str:
    """A cell's text for a merged column that takes markup when any of its parts does."""
    return safe(value) if markup and not col.markup else value


def _cell(value: str, col: Col) -> Text:
    text = Text.from_markup(value, emoji=False) if col.markup else Text(visible(value))
    if col.keep:
        text.no_wrap = True
        text.overflow = "ignore"
    return text


def print_table(
    title: str,
    cols: Sequence[Col],
    rows: Sequence[Sequence[str]],
    *,
    caption: str | None = None,
    console: Console | None = None,
) -> None:
    """Print ``rows`` (strings, one per column) under ``title`` within the console's width."""
    out = console or default_console
    if not rows:
        out.print(Text(visible(f"{title}: none"), style="italic"), soft_wrap=True)
        return
    shown = fitting_columns(cols, rows, out.width)
    left_out = [cols[i].name for i in range(len(cols)) if shown is None or i not in shown]
    if shown is None and any(c.stack for c in cols):
        merged, merged_rows = _stacked(cols, rows, list(range(len(cols))))
        shown = fitting_columns(merged, merged_rows, out.width)
        if shown is not None:
            left_out = [merged[i].name for i in range(len(merged)) if i not in shown]
            cols, rows = merged, merged_rows
    if shown is None:
        _print_records(out, title, cols, rows, caption)
        return
    out.print(Text(visible(title), style="italic"), soft_wrap=True)
    table = Table()
    for i in shown:
        col = cols[i]
        table.add_column(
            col.name,
            justify=col.justify,
            no_wrap=col.keep or col.justify == "right",
            overflow="ignore" if col.keep else "fold",
        )
    for row in rows:
        table.add_row(*(_cell(row[i], cols[i]) for i in shown))
    out.print(table)
    notes = [caption] if caption else []
    if left_out:
        notes.append(f"not shown at this width: {', '.join(left_out)}")
    for note in notes:
        out.print(Text(visible(note), style="dim"))


def _print_records(
    out: Console,
    title: str,
    cols: Sequence[Col],
    rows: Sequence[Sequence[str]],
    caption: str | None,
) -> None:
    """Each row as ``column: value`` lines (too wide for a table even with columns left out);
    long values run on as one line the terminal wraps, so they still copy whole."""
    out.print(Text(visible(title), style="italic"), soft_wrap=True)
    for row in rows:
        out.print()
        for col, value in zip(cols, row, strict=True):
            line = Text(f"  {col.name}: ", style="bold")
            line.append_text(
                Text.from_markup(value, emoji=False) if col.markup else Text(visible(value))
            )
            out.print(line, soft_wrap=True)
    if caption:
        out.print(Text(visible(caption), style="dim"), soft_wrap=True)
