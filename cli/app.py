"""The ``groupops`` Typer application; command modules register themselves on :data:`app`.

Startup is kept light: ``groupops --help`` and the read-only commands must answer in well under
a second, so a command module imports only typer and rich at module level and imports the
domain (pandas, SQLAlchemy, Great Expectations, matplotlib) inside the command that needs it.
Prefect is imported only when a state-changing command runs as a flow (``--prefect`` or
``PREFECT_API_URL``; see :func:`cli.common.use_prefect`). ``tests/test_cli_startup.py`` checks.
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
# No ``:emoji:`` codes: untrusted text (":thumbs_up:" in a name) is shown as written.
console = Console(emoji=False)
err_console = Console(stderr=True, soft_wrap=True, emoji=False)
