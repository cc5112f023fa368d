"""``groupops sources``: the live platforms configured in ``data/sources.toml`` (read-only)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from cli import common
from cli.app import app, console, err_console
from cli.tables import Col, print_table, visible

if TYPE_CHECKING:
    from groupops.connectors.watermarks import StoredWatermark


@dataclass(frozen=True)
class _Row:
    source: str
    kind: str
    enabled: bool
    base_url: str
    group: str
    credentials: dict[str, str]
    capabilities: list[str]
    mark: StoredWatermark | None

    def as_dict(self) -> dict[str, object]:
        at = self.mark.watermark.at if self.mark else None
        return {
            "source": self.source,
            "kind": self.kind,
            "enabled": self.enabled,
            "base_url": self.base_url,
            "group": self.group,
            "credentials": self.credentials,
            "capabilities": self.capabilities,
            "watermark": at.isoformat() if at else None,
            "pulled_at": self.mark.pulled_at.isoformat() if self.mark else None,
        }


def _capabilities_cell(names: list[str]) -> str:
    from groupops.connectors.base import ALL_CAPABILITIES, capability_names

    missing = [n for n in capability_names(ALL_CAPABILITIES) if n not in names]
    return "all" if not missing else "all but " + ", ".join(missing)


sources_app = typer.Typer(help="Live platform sources (data/sources.toml).", no_args_is_help=True)
app.add_typer(sources_app, name="sources")


def _stored_watermarks(url: str) -> dict[tuple[str, str], StoredWatermark]:
    """Watermarks in the store, without creating or migrating anything."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    from groupops.connectors.watermarks import list_watermarks
    from groupops.db import make_engine

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        return {}
    engine = make_engine(url)
    try:
        return {(w.source, w.group_id): w for w in list_watermarks(engine)}
    except sa.exc.SQLAlchemyError:  # store not migrated yet, or unreachable
        return {}
    finally:
        engine.dispose()


@sources_app.command("list")
def sources_list(
    path: Annotated[
        Path | None, typer.Option("--path", help="Sources file (default: settings.sources_path).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Configured sources: kind, URL, groups, credential references (never the secrets),
    capabilities, and each group's stored watermark."""
    from groupops.connectors.base import capability_names
    from groupops.connectors.config import SourcesError, load_sources
    from groupops.connectors.registry import capabilities_of

    settings = common.store_settings()
    path = path or settings.sources_path
    try:
        sources = load_sources(path)
    except SourcesError as exc:
        raise typer.BadParameter(str(exc), param_hint="--path") from exc
    marks = _stored_watermarks(settings.database_url)
    rows = [
        _Row(
            source=src.name,
            kind=src.kind,
            enabled=src.enabled,
            base_url=src.base_url,
            group=group,
            credentials={k: r.describe() for k, r in src.secret_refs().items()},
            capabilities=capability_names(capabilities_of(src.kind)),
            mark=marks.get((src.name, group)),
        )
        for src in sources
        for group in src.groups
    ]
    if as_json:
        console.print_json(json.dumps([r.as_dict() for r in rows], ensure_ascii=False))
        return
    cols = [Col("source", keep=True), Col("kind", keep=True), Col("group", keep=True),
            Col("credentials", drop=2), Col("capabilities", drop=1),
            Col("watermark", keep=True, drop=3)]  # fmt: skip
    table_rows = []
    for row in rows:
        at = row.mark.watermark.at if row.mark else None
        table_rows.append([
            row.source if row.enabled else f"{row.source} (disabled)",
            row.kind,
            row.group,
            ", ".join(f"{k}={v}" for k, v in row.credentials.items()),
            _capabilities_cell(row.capabilities),
            at.isoformat() if at else "-",
        ])  # fmt: skip
    print_table(f"Sources in {path}", cols, table_rows)


@sources_app.command("pull")
def sources_pull(
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Pull only this source (repeatable).")
    ] = None,
    path: Annotated[
        Path | None, typer.Option("--path", help="Sources file (default: settings.sources_path).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Pull every enabled source now (the ``pull-activity`` flow): from each group's watermark,
    ingest, then advance the watermark. Exit code 1 when a group failed."""
    from flows.pull_activity import PullFailed, pull_activity
    from groupops.connectors.config import SourcesError

    common.use_prefect(True)  # Prefect's INFO logs and telemetry stay out of the output
    try:
        results = pull_activity(str(path) if path else None, only=only or None)
    except PullFailed as exc:
        err_console.print(Text.assemble(("✗ ", "red"), visible(exc)))
        raise typer.Exit(1) from exc
    except SourcesError as exc:
        raise typer.BadParameter(str(exc), param_hint="--path") from exc
    if as_json:
        console.print_json(json.dumps([asdict(r) for r in results], ensure_ascii=False))
        return
    cols = [Col("source", keep=True), Col("group", keep=True),
            Col("messages", justify="right"), Col("loaded", justify="right"),
            Col("updated", justify="right", drop=1),
            Col("quarantined", justify="right", drop=2), Col("watermark", keep=True, drop=3)]  # fmt: skip
    rows = [[r.source, r.group_id, str(r.messages), str(r.loaded), str(r.updated),
             str(r.quarantined), r.watermark or "-"] for r in results]  # fmt: skip
    print_table("Pulled", cols, rows)
