"""The ``groupops`` Typer application; command modules register themselves on :data:`app`.

Read-only commands never import ``flows`` (and so never start a Prefect server); commands that
change state run their Prefect flow, imported lazily inside the command.
"""

from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(
    name="groupops",
    help="Operations-group rules as scheduled pipelines: ingest, statistics, deadlines, digests.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="markdown",  # docstring paragraphs reflow instead of keeping line breaks
)
console = Console()
err_console = Console(stderr=True, soft_wrap=True)
