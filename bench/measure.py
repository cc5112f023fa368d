"""Measure one command as a whole process: wall time, CPU time and peak memory.

``python -m bench.measure [--stdout FILE] -- CMD ARGS…`` runs the command, waits for it and
prints one JSON line: ``{"seconds", "cpu_seconds", "peak_mb", "returncode"}``. CPU time and
peak memory come from ``RUSAGE_CHILDREN`` of this small wrapper, so they cover the command *and
every process it started* (``npx`` → ``node``) and nothing else: each measured command gets a
fresh wrapper. The command's output goes to ``FILE`` (default: discarded).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def measure(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    stdout: Path | None = None,
) -> dict[str, Any]:
    """Run ``command`` in a fresh wrapper; its measurements. A failure raises with stderr."""
    wrapper = [sys.executable, "-m", "bench.measure"]
    if stdout is not None:
        wrapper += ["--stdout", str(stdout.resolve())]
    done = subprocess.run(
        [*wrapper, "--", *command],
        env=dict(env) if env is not None else None,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"measuring {' '.join(command)} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str]) -> int:
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1 :]
    target = Path(options[options.index("--stdout") + 1]) if "--stdout" in options else None
    started = time.perf_counter()
    if target is None:
        proc = subprocess.run(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
        )
    else:
        with target.open("wb") as sink:
            proc = subprocess.run(command, stdout=sink, stderr=subprocess.PIPE, check=False)
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 2):  # 2: `groupops ingest` quarantined something
        sys.stderr.write(proc.stderr.decode(errors="replace"))
        return 1
    print(
        json.dumps(
            {
                "seconds": round(seconds, 3),
                "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3),
                "peak_mb": round(usage.ru_maxrss / 1024, 1),  # KiB on Linux
                "returncode": proc.returncode,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
