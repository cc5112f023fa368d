"""``docs/performance.md`` from one ``make bench`` run's results (``bench/out/results.json``).

Everything above the "Notes kept between runs" heading is generated; what is written below it
by hand survives the next run."""

from __future__ import annotations

from typing import Any

from bench import run as bench


def _met(ok: bool | None) -> str:
    return "—" if ok is None else ("met" if ok else "**not met**")


def _s(seconds: float) -> str:
    return f"{seconds:.2f}" if seconds < 10 else f"{seconds:.1f}"


def _cpu(seconds: float | None) -> str:
    return "" if seconds is None else f" (CPU {_s(seconds)} s)"


def _cpu_ratio(factor: float | None) -> str:
    return "" if factor is None else f" (CPU {factor:.2f}×)"


def _stage_row(label: str, what: str, r: dict[str, Any] | None) -> str:
    if not r:
        return f"| {label} | {what} | – | – | – | – |"
    cpu = _s(r["cpu_seconds"]) if "cpu_seconds" in r else "–"
    return (
        f"| {label} | {what} | {_s(r['seconds'])} | {cpu} "
        f"| {_s(r.get('process_seconds', r['seconds']))} | {r['peak_mb']:.0f} |"
    )


def render(result: dict[str, Any]) -> str:
    v = result["verdict"]
    s = result["sqlite"]
    n = result["messages"]
    lines = [
        "# Performance",
        "",
        "Written by `make bench` (`python -m bench.run`, see its docstring) from one run; every",
        "figure on this page comes from that run, so ratios compare like with like.",
        f"Main bundle: {n:,} canonical messages in 200 groups, 5,000 members (`bench/generate.py`,",
        f"seed 7). Machine: {result['machine']}; run {result['at']}"
        + (f" at commit `{result['commit'][:10]}`" if result.get("commit") else "")
        + ". The machine is shared by",
        "several jobs: seconds vary between runs by tens of percent; CPU seconds vary less "
        "(the 10M row of *Scaling* comes from a separate run, dated there).",
        *(
            [
                f"Load average (1 min) at the start of the run {result['load'][0]:.1f}, at its end "
                f"{result['load'][1]:.1f}, on {result['machine'].split(', ')[1]}."
            ]
            if result.get("load")
            else []
        ),
        *(
            [
                "Machine speed: the bench's fixed workload (`bench.run.calibrate`: 200,000 row "
                "tuples built in Python and",
                f"inserted into an in-memory SQLite table) took {result['calibration'][0]:.2f} s "
                f"of CPU at the start of the run and {result['calibration'][1]:.2f} s at its end; "
                "absolute",
                "budgets (the demo, the commands) compare between runs only after dividing by it.",
            ]
            if result.get("calibration")
            else []
        ),
        "",
        "## Targets",
        "",
        "Floor and groupops side by side, from this run. *ratio*: groupops ÷ floor in wall-clock",
        "seconds (the contract); in brackets the same ratio in CPU seconds of the measured work,",
        "which other jobs on the machine move less.",
        "",
        "| target | floor | groupops | ratio | |",
        "|---|---:|---:|---:|---|",
        f"| {n:,} messages, ingest + statistics ≤ {bench.TARGET_FACTOR:.0f}× the floor (SQLite) "
        f"| {_s(v['floor_seconds'])} s{_cpu(v.get('floor_cpu'))} "
        f"| {_s(v['ours_seconds'])} s{_cpu(v.get('ours_cpu'))} "
        f"| **{v['factor']:.2f}×**{_cpu_ratio(v.get('cpu_factor'))} | {_met(v['time_ok'])} |",
        f"| peak memory ≤ {bench.TARGET_PEAK_MB / 1024:.1f} GB | | {v['peak_mb']:.0f} MB | "
        f"| {_met(v['memory_ok'])} |",
    ]
    if "reingest_factor" in v:
        lines += [
            f"| re-ingest of the unchanged bundle ≤ {bench.TARGET_REINGEST_FACTOR:.0f}× the floor "
            f"| {_s(v['floor_seconds'])} s | {_s(s['reingest']['seconds'])} s "
            f"| **{v['reingest_factor']:.2f}×**{_cpu_ratio(v.get('reingest_cpu_factor'))} "
            f"| {_met(v['reingest_ok'])} |",
            f"| incremental {bench.INCREMENTAL_MESSAGES:,}-message ingest into the full store "
            f"≤ {bench.TARGET_INCREMENTAL_S:.0f} s of work | {bench.TARGET_INCREMENTAL_S:.0f} s "
            f"(budget) | {_s(s['incremental']['seconds'])} s "
            f"({_s(s['incremental']['process_seconds'])} s as a whole process) "
            f"| | {_met(v['incremental_ok'])} |",
        ]
    if "pg_factor" in v:
        lines.append(
            f"| PostgreSQL (`COPY`), ingest + statistics, reported beside SQLite "
            f"| {_s(v['pg_floor_seconds'])} s (read + COPY) | {_s(v['pg_ours_seconds'])} s "
            f"| **{v['pg_factor']:.2f}×** | reported |"
        )
    else:
        pg_skip = (result.get("postgres") or {}).get("skipped", "skipped (--skip-postgres)")
        lines.append(f"| PostgreSQL (`COPY`) | | | | not measured: {pg_skip} |")
    peer = result.get("peer") or {}
    if "peer_ratio" in v:
        ca = peer["chat_analytics"]
        lines.append(
            f"| whole process against chat-analytics on a {peer['messages']:,}-message Telegram "
            f"export: faster with less memory (aim 3×) | chat-analytics {_s(ca['seconds'])} s, "
            f"{ca['peak_mb']:.0f} MB | {_s(peer['groupops_seconds'])} s, "
            f"{peer['groupops_peak_mb']:.0f} MB | **{v['peer_ratio']:.2f}×** as fast "
            f"| {_met(v['peer_faster'] and v['peer_less_memory'])} |"
        )
    elif peer.get("skipped"):
        lines.append(f"| whole process against chat-analytics | | | | skipped: {peer['skipped']} |")
    else:
        lines.append("| whole process against chat-analytics | | | | not run (--skip-peer) |")
    if "commands_ok" in v:
        lines += [
            f"| `--help` and read-only commands ≤ {bench.TARGET_COMMAND_S:.0f} s of groupops' "
            f"own (CPU) time | {bench.TARGET_COMMAND_S:.0f} s (budget) | slowest: "
            f"`{v['slowest_command']}`, {v['slowest_command_cpu']:.2f} s | "
            f"| {_met(v['commands_ok'])} |",
            f"| `groupops demo` (what `make demo` runs) well under {bench.TARGET_DEMO_S:.0f} s "
            f"| {bench.TARGET_DEMO_S:.0f} s (budget) | {_s(v['demo_seconds'])} s | "
            f"| {_met(v['demo_ok'])} |",
        ]
    if result.get("ten_million"):
        lines.append(
            "| 10M messages: time and memory grow linearly | | see *Scaling* | | reported |"
        )
    else:
        lines.append(
            "| 10M messages: time and memory grow linearly | | | | not run (see *Scaling*) |"
        )
    lines += [
        "",
        f"## SQLite, {n:,} messages",
        "",
        "*seconds*: the measured work (wall clock); *CPU*: its CPU seconds; *process*: the whole",
        "process (interpreter, imports). *ingest*'s CPU and peak include the child process that",
        "prepares its chunks on two CPUs (`groupops/ingest/overlap.py`; peak: the sum of both).",
        "",
        "| stage | what | seconds | CPU s | process | peak MB |",
        "|---|---|---:|---:|---:|---:|",
        _stage_row("floor-read", "pyarrow JSON read + pandas groupby per member and per day",
                   s["floor-read"]),
        _stage_row("floor-sqlite", "bare SQLite `executemany` of the same rows (same primary key)",
                   s["floor-sqlite"]),
        _stage_row("ingest", "`run_ingest` into a fresh store: read, normalise, validate, upsert, "
                   "quarantine, run bookkeeping", s["ingest"]),
        _stage_row("stats", "the store's messages over the whole span → `compute_stats` → "
                   "`stats_report`", s["stats"]),
        _stage_row("reingest", "the same bundle again (every record unchanged)", s.get("reingest")),
        _stage_row("incremental", f"{bench.INCREMENTAL_MESSAGES:,} new messages into the full "
                   "store", s.get("incremental")),
        "",
        f"Statistics split: reading the store {_s(s['stats']['load_seconds'])} s, computing "
        f"{_s(s['stats']['compute_seconds'])} s, the JSON report for "
        f"{s['stats']['members']:,} group members {_s(s['stats']['report_seconds'])} s.",
    ]  # fmt: skip
    pg = result.get("postgres") or {}
    lines += ["", f"## PostgreSQL, {n:,} messages", ""]
    if "ingest-pg" in pg:
        lines += [
            "| stage | what | seconds | CPU s | process | peak MB |",
            "|---|---|---:|---:|---:|---:|",
            _stage_row("floor-pg", "bare `COPY` of the same rows (same primary key)", pg["floor-pg"]),
            _stage_row("ingest-pg", "`run_ingest` into a fresh database (staging by `COPY`)",
                       pg["ingest-pg"]),
            _stage_row("stats-pg", "as *stats*, from PostgreSQL", pg["stats-pg"]),
        ]  # fmt: skip
    else:
        lines.append(f"Not measured: {pg.get('skipped', 'skipped (--skip-postgres)')}.")
    lines += ["", "## Against chat-analytics", ""]
    if peer:
        lines += _peer(peer)
    else:
        lines.append("Not measured (--skip-peer).")
    commands = result.get("commands") or {}
    if commands:
        lines += [
            "",
            "## Commands",
            "",
            "Each as a whole process (`.venv/bin/groupops`, no `uv run`), on the demo's store; the",
            "best of three runs. *CPU* is groupops' own time (user + system), *seconds* the wall",
            "time, which on a shared machine also holds time spent waiting for a core.",
            "",
            "| command | seconds | CPU s | peak MB |",
            "|---|---:|---:|---:|",
            *(
                f"| `groupops {'demo' if k == 'demo' else k}` | {_s(c['seconds'])} "
                f"| {c['cpu_seconds']:.2f} | {c['peak_mb']:.0f} |"
                for k, c in commands.items()
            ),
        ]
    lines += ["", "## Archive search", "", *_search(result)]
    lines += ["", "## Scaling", "", *_scaling(result)]
    lines += ["", "## Where the time goes", "", *_profile(result["profile"])]
    return "\n".join(lines) + "\n"


def _search(result: dict[str, Any]) -> list[str]:
    """``groupops archive search`` (bench/search.py): each case's median on both stores."""
    lite = result["sqlite"].get("search")
    pg = (result.get("postgres") or {}).get("search-pg")
    if not lite and not pg:
        why = result.get("search_skipped", "not run")
        return [f"Not measured in this run ({why}); `bench/search.py` measures it."]
    out = [
        "`groupops archive search` over the store (after *incremental*) and 20,000 more messages",
        "(English, meeting and rare words over the same weeks): the index built in bulk, the",
        "20,000 indexed through the trigger-filled queue, then each case five times (median;",
        "at most 50 hits). Target: under a second each.",
        "",
    ]
    for label, r in (("SQLite", lite), ("PostgreSQL", pg)):
        if r:
            out.append(
                f"* {label}: {r['indexed']:,} messages indexed in bulk in "
                f"{_s(r['index_seconds'])} s; {r['queued']:,} through the queue in "
                f"{_s(r['queue_seconds'])} s; slowest case {r['seconds']:.3f} s "
                f"({_met(r['met'])})."
            )
    out += ["", "| case | query | filters | SQLite s | hits | PostgreSQL s | hits |",
            "|---|---|---|---:|---:|---:|---:|"]  # fmt: skip
    cases = (lite or pg or {}).get("cases", {})
    for name, case in cases.items():
        filters = ", ".join(
            f for f, on in (("one group", case.get("group")),
                            (f"last {case.get('days')} days", case.get("days"))) if on
        )  # fmt: skip
        cells = []
        for r in (lite, pg):
            c = (r or {}).get("cases", {}).get(name)
            cells += [f"{c['median_seconds']:.3f}", str(c["hits"])] if c else ["—", "—"]
        out.append(f"| {name} | {case['query']} | {filters or '—'} | {' | '.join(cells)} |")
    return out


def _peer(peer: dict[str, Any]) -> list[str]:
    g = peer["groupops"]
    lines = [
        f"The same generated Telegram Desktop export (`bench/peer.py`): {peer['messages']:,} "
        f"messages from {peer['members']} members over {peer['days']} days, "
        f"{peer['export_mb']:.0f} MB of JSON. groupops loaded {g['loaded']:,} records "
        f"({g['quarantined']} quarantined), counted {g['week_messages']:,} messages in the "
        f"digest's week and rendered {g['digests']} digest email(s) with their charts."
        + (
            f" groupops read the export with `GROUPOPS_MAX_DOCUMENT_BYTES` raised to "
            f"{g['document_limit_bytes'] / 2**20:.0f} MiB (its default, 64 MiB, refuses a whole "
            "document this large and names the setting)."
            if "document_limit_bytes" in g
            else ""
        ),
        "",
        "| tool | step | seconds | CPU s | peak MB |",
        "|---|---|---:|---:|---:|",
    ]
    for step, what in (("ingest", "`groupops ingest result.json`"),
                       ("roster", "`groupops ingest roster/` (owner, admins, emails)"),
                       ("stats", "`groupops stats --since … --until … --json`"),
                       ("digest", "`groupops digest --period week --as-of …`")):  # fmt: skip
        r = g[step]
        lines.append(f"| groupops | {what} | {_s(r['seconds'])} | {r['cpu_seconds']:.2f} "
                     f"| {r['peak_mb']:.0f} |")  # fmt: skip
    lines.append(f"| **groupops** | **all four, one after the other** | "
                 f"**{_s(peer['groupops_seconds'])}** | | **{peer['groupops_peak_mb']:.0f}** |")  # fmt: skip
    ca = peer.get("chat_analytics")
    if ca:
        lines.append(f"| **chat-analytics** | **`chat-analytics -p telegram -i result.json -o "
                     f"report.html`** | **{_s(ca['seconds'])}** | {ca['cpu_seconds']:.2f} "
                     f"| **{ca['peak_mb']:.0f}** |")  # fmt: skip
        lines += ["", f"groupops is **{peer['ratio']:.2f}×** as fast as chat-analytics, with "
                  f"{peer['groupops_peak_mb']:.0f} MB against {ca['peak_mb']:.0f} MB at peak."]  # fmt: skip
    else:
        lines += ["", f"chat-analytics was not run: {peer.get('skipped')}."]
    return lines


def _scaling(result: dict[str, Any]) -> list[str]:
    rows = []
    for label, data in (("100k", (result.get("small") or None)),
                        (f"{result['messages'] / 1e6:g}M", result["sqlite"]),
                        ("10M", (result.get("ten_million") or {}).get("sqlite"))):  # fmt: skip
        if not data:
            continue
        messages = {"100k": 100_000, "10M": 10_000_000}.get(label, result["messages"])
        ingest, stats = data["ingest"], data["stats"]
        per_m = (ingest["seconds"] + stats["seconds"]) / (messages / 1e6)
        floor = data["floor-read"]["seconds"] + data["floor-sqlite"]["seconds"]
        cpu = [
            data[k].get("cpu_seconds") for k in ("floor-read", "floor-sqlite", "ingest", "stats")
        ]
        cpu_per_m, cpu_factor = "", ""
        if all(c is not None for c in cpu):  # CPU seconds: what other jobs on the machine move less
            cpu_per_m = f"{(cpu[2] + cpu[3]) / (messages / 1e6):.2f}"
            cpu_factor = f"{(cpu[2] + cpu[3]) / (cpu[0] + cpu[1]):.2f}×"
        rows.append(
            f"| {label} | {_s(floor)} | {_s(ingest['seconds'])} | {_s(stats['seconds'])} "
            f"| {per_m:.2f} | {cpu_per_m} | {cpu_factor} | {ingest['peak_mb']:.0f} "
            f"| {stats['peak_mb']:.0f} |"
        )
    out = [
        "SQLite; *s per M*: ingest + statistics seconds per million messages (constant when time",
        "grows linearly); *CPU s per M* the same in CPU seconds, and *× floor* groupops' CPU",
        "seconds over the floor's at that scale. Ingest memory is bounded by the chunk",
        "(`GROUPOPS_CHUNK_SIZE`); the statistics over the whole span hold that span's messages.",
        "",
        "| messages | floor s | ingest s | stats s | s per M | CPU s per M | × floor (CPU) "
        "| ingest peak MB | stats peak MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
    ]
    ten = result.get("ten_million")
    if not ten:
        out += ["", "10M: not run (`python -m bench.run --scale 10m` writes "
                "`bench/out/results-10000000.json`, which the next 1M run shows here; at this "
                "run's rate it needs more than ten times the 1M run's ingest time)."]  # fmt: skip
    else:
        said = [f"10M: a separate run (`--scale 10m`) of {ten.get('at', 'an earlier date')}"]
        if ten.get("commit"):
            said.append(f"at commit `{ten['commit'][:10]}`")
        if ten.get("load"):
            said.append(f"load {ten['load'][0]:.1f} → {ten['load'][1]:.1f} on the machine's CPUs")
        if ten.get("calibration"):
            said.append(f"calibration {ten['calibration'][0]:.2f} s (this run: "
                        f"{(result.get('calibration') or ['?'])[0]:.2f} s)"
                        if result.get("calibration") else
                        f"calibration {ten['calibration'][0]:.2f} s")  # fmt: skip
        out += ["", ", ".join(said) + ". Wall seconds of runs made under different loads "
                "compare badly; the CPU columns compare better."]  # fmt: skip
    return out


def _profile(profile: dict[str, Any]) -> list[str]:
    steps = profile["steps"]
    total = profile["seconds"]
    lines = [
        f"`cProfile` of `run_ingest` on a {profile['messages']:,}-message bundle into a fresh "
        f"SQLite store ({_s(total)} s under the profiler, which slows pure-Python code more than "
        "C code). Seconds per step (cumulative):",
        "",
        "| step | seconds | share |",
        "|---|---:|---:|",
        *(f"| {k} | {_s(sec)} | {sec / total:.0%} |" for k, sec in steps.items()),
        f"| other (run bookkeeping, known groups) | {_s(total - sum(steps.values()))} | "
        f"{(total - sum(steps.values())) / total:.0%} |",
        "",
        f"The biggest step, **{profile['biggest']}**, spends its time in:",
        "",
        "```",
    ]

    def walk(nodes: list[dict[str, Any]], indent: int) -> None:
        for node in nodes:
            lines.append(f"{'  ' * indent}{node['seconds']:7.2f} s  {node['name']}")
            walk(node["callees"], indent + 1)

    walk(profile["tree"], 0)
    lines += ["```", "", "Most time of their own (all steps):", "", "```"]
    lines += [f"{o['seconds']:7.2f} s  {o['calls']:>9,} calls  {o['name']}" for o in profile["own"]]
    lines.append("```")
    return lines
