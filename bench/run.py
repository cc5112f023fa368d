"""``make bench``: groupops' speed and memory beside floors and a peer, measured in one run, and
``docs/performance.md`` written from the results.

``python -m bench.run`` (1M messages), ``--scale 10m`` (10M: the linear-growth check, not in
CI), ``--scale 100000`` for a quick look; ``--skip-postgres``, ``--skip-peer``,
``--skip-commands`` leave parts out; ``--no-doc`` keeps docs/performance.md as it is.

What runs (every measured step in its own process; *peak* is its maximum resident memory):

* **Floors** on the generated canonical bundle (``bench/generate.py``): pyarrow JSON read +
  pandas groupby per member and per day (``floor-read``); a bare SQLite ``executemany`` of the
  same rows into a table with the same primary key (``floor-sqlite``); a bare PostgreSQL
  ``COPY`` of them (``floor-pg``).
* **groupops on SQLite**: ``ingest`` (``run_ingest`` into a fresh store: read, normalise,
  validate, upsert, quarantine, run bookkeeping), ``stats`` (the store's messages over the
  whole span → ``compute_stats`` → ``stats_report``), ``reingest`` (the same bundle again:
  nothing changes), ``incremental`` (10k new messages into the full store).
* **Search** (``search``, :mod:`bench.search`): ``groupops archive search`` over the full store
  after ``incremental``: building the bigram index once in bulk, indexing 20k more messages
  through the trigger-filled queue, then each case's median (under a second is the target);
  ``search-pg`` the same on PostgreSQL.
* **groupops on PostgreSQL**: ``ingest-pg``, ``stats-pg`` and ``search-pg`` in a throwaway database
  (``GROUPOPS_BENCH_POSTGRES_URL``, default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``
  as the admin connection); skipped with the reason when no server answers.
* **Against chat-analytics** (:mod:`bench.peer`): a generated Telegram Desktop export, groupops
  (roster, ingest, stats, weekly digest: one command each) and chat-analytics' CLI, each as
  whole processes.
* **Commands**: ``groupops demo`` as a whole process, then ``--help`` and every read-only command
  on the demo's store (wall and CPU time).
* **Profile**: ``cProfile`` of ``run_ingest`` on a 200k-message bundle, split by pipeline step,
  with the top functions of the biggest step.
* **Machine speed**: :func:`calibrate`, a fixed workload's CPU seconds at the start and the end
  of the run, printed under the run's date (absolute budgets compare between runs through it).
* **Scaling**: the 100k figures (run every time) beside the main scale, and the 10M figures when
  ``bench/out/results-10000000.json`` exists (``--scale 10m``).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

OUT = Path("bench/out")
DOC = Path("docs/performance.md")
NOW = datetime(2026, 11, 24, tzinfo=UTC)  # the bundles' "now": every message is in the past
TARGET_FACTOR = 2.0
TARGET_REINGEST_FACTOR = 1.0
TARGET_INCREMENTAL_S = 5.0
TARGET_PEAK_MB = 1536
TARGET_COMMAND_S = 1.0
TARGET_DEMO_S = 15.0
INCREMENTAL_MESSAGES = 10_000
PROFILE_MESSAGES = 200_000
PG_ADMIN = os.environ.get(
    "GROUPOPS_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
ANALYSIS_HEADING = "\n## Notes kept between runs"


def _peak_mb() -> float:
    """The stage's peak resident memory, plus its child's (the ingest's preparing process,
    ``groupops.ingest.overlap``; 0 without one): the sum of both peaks, an upper bound."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + child) / 1024  # KiB on Linux


def _cpu() -> float:
    """CPU seconds of this process and its waited-for children (the ingest's preparing one)."""
    times = os.times()
    return time.process_time() + times.children_user + times.children_system


def _sqlite_url(db: Path) -> str:
    return f"sqlite:///{db}"


def _fresh_sqlite(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


# --- stages (each runs in its own process: `python -m bench.run --stage NAME …`) --------------


def stage_floor_read(bundle: Path, target: str) -> dict[str, Any]:
    import pyarrow.json as pj

    started, cpu = time.perf_counter(), time.process_time()
    table = pj.read_json(bundle / "messages.jsonl")
    frame = table.select(["group_id", "sender_id", "sent_at"]).to_pandas()
    per_member = frame.groupby(["group_id", "sender_id"]).size()
    day = frame["sent_at"] // 86400
    per_day = frame.groupby([frame["group_id"], day]).size()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "cpu_seconds": time.process_time() - cpu, "rows": len(frame),
            "groups": int(per_member.size + per_day.size)}  # fmt: skip


def _floor_rows(bundle: Path) -> tuple[list[str], list[tuple[Any, ...]]]:
    import pyarrow.json as pj

    table = pj.read_json(bundle / "messages.jsonl")
    cols = ["platform", "group_id", "message_id", "sender_id", "sent_at", "kind", "text"]
    return cols, list(zip(*(table.column(c).to_pylist() for c in cols), strict=True))


def stage_floor_sqlite(bundle: Path, target: str) -> dict[str, Any]:
    import sqlite3

    _cols, rows = _floor_rows(bundle)
    db = Path(target)
    _fresh_sqlite(db)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE messages (platform TEXT, group_id TEXT, message_id TEXT, sender_id TEXT,"
        " sent_at INTEGER, kind TEXT, text TEXT, PRIMARY KEY (platform, group_id, message_id))"
    )
    started, cpu = time.perf_counter(), time.process_time()
    conn.executemany("INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    conn.commit()
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu
    conn.close()
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "rows": len(rows)}


def stage_floor_pg(bundle: Path, target: str) -> dict[str, Any]:
    import psycopg

    cols, rows = _floor_rows(bundle)
    with psycopg.connect(target.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute("DROP TABLE IF EXISTS floor_messages")
        conn.execute(
            "CREATE TABLE floor_messages (platform TEXT, group_id TEXT, message_id TEXT,"
            " sender_id TEXT, sent_at BIGINT, kind TEXT, text TEXT,"
            " PRIMARY KEY (platform, group_id, message_id))"
        )
        conn.commit()
        started = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY floor_messages ({', '.join(cols)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        conn.commit()
        seconds = time.perf_counter() - started
        conn.execute("DROP TABLE floor_messages")
    return {"seconds": seconds, "rows": len(rows)}


def _ingest(bundle: Path, url: str, *, fresh: bool) -> dict[str, Any]:
    from groupops.db import make_engine, upgrade
    from groupops.ingest.bundle import open_bundle
    from groupops.ingest.pipeline import run_ingest
    from groupops.policy import Policy

    if fresh and url.startswith("sqlite"):
        _fresh_sqlite(Path(url.removeprefix("sqlite:///")))
    upgrade(url)
    engine = make_engine(url)
    started, cpu = time.perf_counter(), _cpu()
    summary = run_ingest(open_bundle(bundle), engine, Policy(), now=NOW)
    seconds = time.perf_counter() - started
    cpu_seconds = _cpu() - cpu
    engine.dispose()
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, **{k: summary.total(k) for k in
            ("loaded", "updated", "unchanged", "quarantined")}}  # fmt: skip


def stage_ingest(bundle: Path, target: str) -> dict[str, Any]:
    return _ingest(bundle, target, fresh=True)


def stage_reingest(bundle: Path, target: str) -> dict[str, Any]:
    return _ingest(bundle, target, fresh=False)


def stage_incremental(bundle: Path, target: str) -> dict[str, Any]:
    return _ingest(bundle, target, fresh=False)


def stage_stats(bundle: Path, target: str) -> dict[str, Any]:
    import sqlalchemy as sa

    from groupops.activity.stats import STATS_COLUMNS, compute_stats, load_window, stats_report
    from groupops.clock.periods import Period
    from groupops.db import make_engine
    from groupops.db.queries import load_groups, load_members, load_memberships, load_messages
    from groupops.policy import Policy
    from groupops.roster import Directory

    policy = Policy()
    engine = make_engine(target)
    with engine.connect() as conn:
        first, last = conn.execute(sa.text("select min(sent_at), max(sent_at) from messages")).one()
    since, until = (_day(first, policy.tz), _day(last, policy.tz) + timedelta(days=1))
    period = Period(since, until, policy.tz)
    window = load_window(period, policy)
    started, cpu = time.perf_counter(), time.process_time()
    messages = load_messages(engine, since=window[0].to_pydatetime(), until=window[1].to_pydatetime(),
                             columns=STATS_COLUMNS)  # fmt: skip
    memberships, groups, directory = (
        load_memberships(engine),
        load_groups(engine),
        load_members(engine),
    )
    loaded = time.perf_counter()
    stats = compute_stats(messages, memberships, period, policy, groups=groups)
    computed = time.perf_counter()
    report = stats_report(stats, Directory.from_frame(directory))
    done = time.perf_counter()
    cpu_seconds = time.process_time() - cpu
    engine.dispose()
    return {"seconds": done - started, "cpu_seconds": cpu_seconds,
            "load_seconds": loaded - started,
            "compute_seconds": computed - loaded, "report_seconds": done - computed,
            "groups": len(report["groups"]),
            "members": len(stats.members), "messages": len(messages)}  # fmt: skip


def _day(value: Any, tz: Any) -> datetime:
    instant = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)


def stage_profile(bundle: Path, target: str) -> dict[str, Any]:
    """``run_ingest`` under cProfile: seconds per pipeline step, what the biggest step spends
    its time in, and the functions with the most time of their own."""
    from groupops.db import make_engine, upgrade
    from groupops.ingest.bundle import open_bundle
    from groupops.ingest.pipeline import run_ingest
    from groupops.policy import Policy

    _fresh_sqlite(Path(target.removeprefix("sqlite:///")))
    upgrade(target)
    engine = make_engine(target)
    profiler = cProfile.Profile()
    profiler.enable()
    run_ingest(open_bundle(bundle), engine, Policy(), now=NOW)
    profiler.disable()
    engine.dispose()
    table: dict[Any, Any] = pstats.Stats(profiler).stats  # pstats keeps its table untyped
    total = sum(v[3] for k, v in table.items() if k[2] == "run_ingest")
    steps = {name: _cumulative(table, *where) for name, where in PROFILE_STEPS.items()}
    biggest = max(steps, key=lambda k: steps[k])
    return {"seconds": total, "steps": steps, "biggest": biggest,
            "tree": _tree(table, *PROFILE_STEPS[biggest]), "own": _own_time(table)}  # fmt: skip


#: Pipeline steps as (module path suffix, function): their cumulative time in the profile.
PROFILE_STEPS: dict[str, tuple[str, str]] = {
    "read": ("groupops/ingest/bundle.py", "_jsonl_chunks"),  # both readers, chunk by chunk
    "normalise": ("groupops/ingest/normalise.py", "normalise_frame"),  # both paths end here
    "validate": ("groupops/ingest/expectations.py", "validate"),
    "store": ("groupops/ingest/pipeline.py", "_store"),
}


def _name(key: tuple[str, int, str]) -> str:
    path, line, func = key
    for marker in ("site-packages/", f"{Path.cwd()}/"):
        if marker in path:
            path = path.partition(marker)[2]
    return f"{path}:{line}({func})" if line else func


def _cumulative(table: dict[Any, Any], where: str, func: str) -> float:
    return float(sum(v[3] for k, v in table.items() if k[0].endswith(where) and k[2] == func))


def _tree(table: dict[Any, Any], where: str, func: str, depth: int = 2) -> list[dict[str, Any]]:
    """What the step's function spends its time in: callees by cumulative time, two levels,
    each at least 3% of the step."""
    roots = [k for k in table if k[0].endswith(where) and k[2] == func]
    floor = 0.03 * sum(table[k][3] for k in roots)

    def callees(parents: list[Any], level: int) -> list[dict[str, Any]]:
        found: dict[Any, float] = {}
        for key, value in table.items():
            for caller, edge in value[4].items():
                if caller in parents:
                    found[key] = found.get(key, 0.0) + edge[3]
        out = []
        for key, seconds in sorted(found.items(), key=lambda kv: -kv[1]):
            if seconds < floor:
                break
            below = callees([key], level + 1) if level < depth else []
            out.append({"name": _name(key), "seconds": seconds, "callees": below})
        return out

    return callees(roots, 1)


def _own_time(table: dict[Any, Any], n: int = 12) -> list[dict[str, Any]]:
    """The functions with the most time of their own (not in their callees)."""
    top = sorted(table.items(), key=lambda kv: -kv[1][2])[:n]
    return [{"name": _name(k), "seconds": v[2], "calls": v[1]} for k, v in top]


def stage_search(bundle: Path, target: str) -> dict[str, Any]:
    """``groupops archive search`` over the whole store: build the index, time the queries."""
    from bench.search import run

    return run(target)


STAGES: dict[str, Callable[[Path, str], dict[str, Any]]] = {
    "floor-read": stage_floor_read,
    "floor-sqlite": stage_floor_sqlite,
    "floor-pg": stage_floor_pg,
    "ingest": stage_ingest,
    "stats": stage_stats,
    "reingest": stage_reingest,
    "incremental": stage_incremental,
    "profile": stage_profile,
    "search": stage_search,
}


def _run_stage(name: str, bundle: Path, target: str) -> dict[str, Any]:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--stage", name, "--bundle", str(bundle), "--target", target],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"stage {name} failed:\n{proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_seconds"] = time.perf_counter() - started  # with imports and startup
    return result


# --- the parts of a run ------------------------------------------------------------------------


def bundles(messages: int) -> tuple[Path, Path]:
    """The main bundle and the incremental one (generated once, then reused)."""
    from bench.generate import generate

    groups, members = (200, 5_000) if messages >= 100_000 else (20, 500)
    main = OUT / f"bundle-{messages}"
    if not (main / "messages.jsonl").exists():
        print(f"generating {main} …", flush=True)
        generate(main, messages=messages, groups=groups, members=members, seed=7)
    extra = OUT / f"bundle-{messages}-incremental"
    if not (extra / "messages.jsonl").exists():
        generate(extra, messages=INCREMENTAL_MESSAGES, groups=groups, members=members, seed=8,
                 first_day=28, days=2, id_prefix="n", messages_only=True)  # fmt: skip
    return main, extra


def run_sqlite(messages: int, *, full: bool = True, search: bool = True) -> dict[str, Any]:
    main, extra = bundles(messages)
    store = _sqlite_url(OUT / f"store-{messages}.sqlite")
    plan = [("floor-read", main, ""), ("floor-sqlite", main, str(OUT / "floor.sqlite")),
            ("ingest", main, store), ("stats", main, store)]  # fmt: skip
    if full:
        plan += [("reingest", main, store), ("incremental", extra, store)]
        if search:
            plan.append(("search", main, store))
    out: dict[str, Any] = {}
    for name, bundle, target in plan:
        print(f"  {name} ({messages:,}) …", flush=True)
        out[name] = _run_stage(name, bundle, target)
        print(f"    {out[name]['seconds']:.1f} s, peak {out[name]['peak_mb']:.0f} MB", flush=True)
    return out


def run_postgres(messages: int, *, search: bool = True) -> dict[str, Any]:
    import sqlalchemy as sa

    try:
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as exc:  # no server: reported, not fatal
        return {"skipped": f"no PostgreSQL at {PG_ADMIN}: {type(exc).__name__}"}
    name = f"groupops_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    main, _extra = bundles(messages)
    out: dict[str, Any] = {}
    try:
        stages = [("floor-pg", "floor-pg"), ("ingest", "ingest-pg"), ("stats", "stats-pg")]
        if search:
            stages.append(("search", "search-pg"))
        for stage, label in stages:
            print(f"  {label} ({messages:,}) …", flush=True)
            out[label] = _run_stage(stage, main, url)
            print(
                f"    {out[label]['seconds']:.1f} s, peak {out[label]['peak_mb']:.0f} MB",
                flush=True,
            )
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return out


READ_ONLY = {
    "--help": ["--help"],
    "config show": ["config", "show"],
    "db current": ["db", "current"],
    "db history": ["db", "history"],
    "runs list": ["runs", "list"],
    "quarantine list": ["quarantine", "list"],
    "sources list": ["sources", "list"],
    "violations": ["violations"],
    "appeals": ["appeals"],
    "todos": ["todos"],
    "roster check": ["roster", "check", "--as-of", "2026-11-20T18:00"],
    "archive list": ["archive", "list"],
    "archive search": ["archive", "search", "发布"],
    "stats (a week)": ["stats", "--since", "2026-11-09", "--until", "2026-11-16"],
    "overdue": ["overdue", "--as-of", "2026-11-20T18:00"],
    "tasks": ["tasks", "--as-of", "2026-11-20T18:00"],
    "meetings": ["meetings", "--as-of", "2026-11-20T18:00"],
}


def compile_bytecode() -> None:
    """Compile the environment's and the project's modules to bytecode before measuring.

    A warm environment has them (``make`` syncs with ``--compile-bytecode``); an environment
    run with ``PYTHONDONTWRITEBYTECODE`` set never writes them, so every measured process would
    compile every import again (``import pandas`` ~3.4 s of CPU instead of ~0.4 s here) and
    the command and demo figures would measure the compiler. Quick when already compiled."""
    import compileall
    import sysconfig

    print("compiling bytecode (once per environment) …", flush=True)
    paths = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    project = [Path(name) for name in ("groupops", "cli", "flows", "tasks", "bench")]
    for path in [*map(Path, sorted(paths)), *project]:
        if path.is_dir():
            compileall.compile_dir(path, quiet=2, workers=0)


def _commit() -> str | None:
    """The measured checkout's commit (``git rev-parse HEAD``), or ``None`` outside git."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True, timeout=10)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def run_commands() -> dict[str, Any]:
    """``groupops demo`` as a whole process, then each read-only command on its store."""
    from bench.measure import measure

    groupops = str(Path(sys.executable).with_name("groupops"))
    demo_dir = OUT / "demo"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    print("  groupops demo …", flush=True)
    out: dict[str, Any] = {"demo": measure([groupops, "demo", "--out", str(demo_dir)], env=env)}
    env.update(
        GROUPOPS_DATABASE_URL=_sqlite_url(demo_dir / "groupops.db"),
        GROUPOPS_OUTBOX_DIR=str(demo_dir / "outbox"),
        GROUPOPS_MEETINGS_DIR=str(Path("data/demo/meetings")),  # as the demo prints it
    )
    for label, args in READ_ONLY.items():
        runs = [measure([groupops, *args], env=env) for _ in range(3)]
        out[label] = min(runs, key=lambda r: r["cpu_seconds"])  # the quietest of three
    return out


def run_peer(messages: int) -> dict[str, Any]:
    from bench.peer import compare

    print(f"  groupops and chat-analytics on a {messages:,}-message Telegram export …", flush=True)
    return compare(messages)


def run_profile(messages: int) -> dict[str, Any]:
    main, _extra = bundles(messages)
    print(f"  profile ({messages:,}) …", flush=True)
    result = _run_stage("profile", main, _sqlite_url(OUT / "profile.sqlite"))
    result["messages"] = messages
    return result


def verdicts(result: dict[str, Any]) -> dict[str, Any]:
    s = result["sqlite"]
    floor = s["floor-read"]["seconds"] + s["floor-sqlite"]["seconds"]
    ours = s["ingest"]["seconds"] + s["stats"]["seconds"]
    peak = max(s["ingest"]["peak_mb"], s["stats"]["peak_mb"])
    v: dict[str, Any] = {
        "floor_seconds": floor, "ours_seconds": ours, "factor": ours / floor,
        "time_ok": ours <= TARGET_FACTOR * floor, "peak_mb": peak,
        "memory_ok": peak <= TARGET_PEAK_MB,
    }  # fmt: skip
    if all("cpu_seconds" in s[k] for k in ("floor-read", "floor-sqlite", "ingest", "stats")):
        # CPU seconds of the measured work: less moved by other jobs on a shared machine.
        floor_cpu = s["floor-read"]["cpu_seconds"] + s["floor-sqlite"]["cpu_seconds"]
        ours_cpu = s["ingest"]["cpu_seconds"] + s["stats"]["cpu_seconds"]
        v.update(floor_cpu=floor_cpu, ours_cpu=ours_cpu, cpu_factor=ours_cpu / floor_cpu)
        if "reingest" in s:
            v["reingest_cpu_factor"] = s["reingest"]["cpu_seconds"] / floor_cpu
    if "reingest" in s:
        v["reingest_factor"] = s["reingest"]["seconds"] / floor
        v["reingest_ok"] = v["reingest_factor"] <= TARGET_REINGEST_FACTOR
        v["incremental_ok"] = s["incremental"]["seconds"] <= TARGET_INCREMENTAL_S
    pg = result.get("postgres") or {}
    if "ingest-pg" in pg:
        pg_floor = s["floor-read"]["seconds"] + pg["floor-pg"]["seconds"]
        pg_ours = pg["ingest-pg"]["seconds"] + pg["stats-pg"]["seconds"]
        v.update(pg_floor_seconds=pg_floor, pg_ours_seconds=pg_ours, pg_factor=pg_ours / pg_floor)
    peer = result.get("peer") or {}
    if peer.get("chat_analytics"):
        v.update(peer_ratio=peer["ratio"], peer_faster=peer["faster"],
                 peer_less_memory=peer["less_memory"])  # fmt: skip
    commands = result.get("commands") or {}
    if commands:
        slowest = max(
            (k for k in commands if k != "demo"), key=lambda k: commands[k]["cpu_seconds"]
        )
        v.update(slowest_command=slowest, slowest_command_cpu=commands[slowest]["cpu_seconds"],
                 commands_ok=commands[slowest]["cpu_seconds"] <= TARGET_COMMAND_S,
                 demo_seconds=commands["demo"]["seconds"],
                 demo_ok=commands["demo"]["seconds"] <= TARGET_DEMO_S)  # fmt: skip
    return v


# --- docs/performance.md -----------------------------------------------------------------------


def write_doc(result: dict[str, Any]) -> None:
    from bench.doc import render

    text = render(result)
    old = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    _, heading, kept = old.partition(ANALYSIS_HEADING)
    DOC.write_text(text + (heading + kept if heading else ""), encoding="utf-8")


CALIBRATION_ROWS = 200_000


def calibrate() -> float:
    """CPU seconds of a fixed workload (best of three): a pure-Python loop building
    ``CALIBRATION_ROWS`` row tuples and a bare SQLite ``executemany`` of them into memory. The
    same code on every run, so it tells the machine's speed apart from groupops': runs on
    different days (or machines) compare by their ratio to it."""
    import sqlite3

    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        rows = [(i, f"m{i:08d}", i * 7 % 1_000, "text " * (i % 5)) for i in range(CALIBRATION_ROWS)]
        db = sqlite3.connect(":memory:")
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, key TEXT, n INTEGER, body TEXT)")
        db.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", rows)
        db.commit()
        db.close()
        best = min(best, time.process_time() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="1m", help="1m, 10m or a number of messages")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--skip-commands", action="store_true")
    parser.add_argument("--skip-search", action="store_true",
                        help="Leave out the archive search stage (bench/search.py).")  # fmt: skip
    parser.add_argument("--peer-messages", type=int, default=200_000)
    parser.add_argument("--no-doc", action="store_true", help="Do not rewrite docs/performance.md.")
    parser.add_argument("--doc-only", action="store_true",
                        help="Rewrite docs/performance.md from bench/out/results.json.")  # fmt: skip
    parser.add_argument("--stage", choices=sorted(STAGES), help=argparse.SUPPRESS)
    parser.add_argument("--bundle", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stage:
        out = STAGES[args.stage](args.bundle, args.target)
        out["peak_mb"] = _peak_mb()
        print(json.dumps(out))
        return 0
    if args.doc_only:
        write_doc(json.loads((OUT / "results.json").read_text(encoding="utf-8")))
        return 0

    messages = {"1m": 1_000_000, "10m": 10_000_000}.get(args.scale) or int(args.scale)
    OUT.mkdir(parents=True, exist_ok=True)
    compile_bytecode()
    result: dict[str, Any] = {
        "messages": messages, "at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} CPUs, "
                   f"Python {platform.python_version()}",
        "commit": _commit(),
    }  # fmt: skip
    load_at_start = os.getloadavg()[0]
    calibration_at_start = calibrate()
    print(f"SQLite, {messages:,} messages", flush=True)
    result["sqlite"] = run_sqlite(messages, search=not args.skip_search)
    if args.skip_search:
        result["search_skipped"] = "--skip-search"
    if messages >= 10_000_000:  # the scaling check alone: kept for the 1M run's document
        result["load"] = [load_at_start, os.getloadavg()[0]]
        result["calibration"] = [calibration_at_start, calibrate()]
        result["verdict"] = verdicts(result)
        path = OUT / f"results-{messages}.json"
        path.write_text(json.dumps(result, indent=2), encoding="utf-8")
        print(f"written {path} (the next 1M run's docs/performance.md shows it)")
        return 0
    if messages > 100_000:
        print("SQLite, 100,000 messages (scaling)", flush=True)
        result["small"] = run_sqlite(100_000, full=False)
    if not args.skip_postgres:
        print(f"PostgreSQL, {messages:,} messages", flush=True)
        result["postgres"] = run_postgres(messages, search=not args.skip_search)
    if not args.skip_peer:
        result["peer"] = run_peer(args.peer_messages)
    if not args.skip_commands:
        print("commands", flush=True)
        result["commands"] = run_commands()
    result["profile"] = run_profile(min(messages, PROFILE_MESSAGES))
    ten = OUT / "results-10000000.json"
    if ten.exists():
        result["ten_million"] = json.loads(ten.read_text(encoding="utf-8"))
    result["load"] = [load_at_start, os.getloadavg()[0]]
    result["calibration"] = [calibration_at_start, calibrate()]
    result["verdict"] = verdicts(result)
    (OUT / "results.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    if not args.no_doc:
        write_doc(result)
    v = result["verdict"]
    print(f"ingest + stats {v['ours_seconds']:.1f} s = {v['factor']:.2f}× the floor "
          f"{v['floor_seconds']:.1f} s; peak {v['peak_mb']:.0f} MB")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
