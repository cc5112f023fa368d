"""Preparing an entity's chunks in a child process while the parent writes (issue 15).

A chunk is *prepared* (read, normalised, validated, then :func:`~groupops.ingest.store.keyed`:
sorted by key, content-hashed) from the input alone, and *written* (the lookup, the upsert,
the quarantine, the run's counters, one transaction) by the process holding the store. On a
machine with two usable CPUs the child prepares chunk N+1 while the parent writes chunk N, so
the ingest's wall time approaches the larger of the two halves instead of their sum
(docs/performance.md's notes, 2026-12-01 *pipeline*). The parent keeps every database write,
in the same order and the same transactions as the serial path: crash safety, quarantine,
idempotency, run bookkeeping, leases and fingerprints do not change; the child never opens
the store.

The child is a fresh interpreter (``python -P -m groupops.ingest.preparing_child``, started by
:class:`subprocess.Popen`, which execs at once: no fork of the parent's threads or
connections). It reads its job (the source, the entity, the chunk size, the validation's
bounds and known groups) as one pickle on stdin and writes each prepared chunk to a pipe as a
pickle of protocol 5 whose buffers (the frame's columns) go out of band: a 100k-message chunk
pickles in ~6 ms and loads in ~5 ms (protocol 4: 0.2 s). The pipe holds little, so the
child, once it has prepared the next chunk, waits in its write until the parent reads it:
at most one prepared chunk waits while the parent writes another. An exception in the child
is raised again in the parent (the same type and message); the child is killed when the
parent stops reading (an error, ``KeyboardInterrupt``), and ends by itself when the parent
dies (its pipe breaks, and a watchdog sees it orphaned).

A source offers an entity to be prepared apart by its ``apart_bytes(entity)``: the size of
what the child reads (a canonical bundle's entity file; a Telegram export's messages), or
``None``; it must pickle and give the same chunks when read again. On when it can pay
(:func:`prepares_apart`): an entity of at least :data:`APART_MIN_BYTES` (several chunks:
the child's start, ~0.6 s of imports, is paid once),
at least two CPUs usable by this process (``os.sched_getaffinity``), at least
:data:`APART_MIN_IDLE` CPUs idle on the machine at the entity's start (``/proc/stat`` over
0.1 s: on a machine busy elsewhere the two processes share one CPU and the overlap loses),
and ``GROUPOPS_INGEST_WORKERS`` not ``0`` (``1`` prepares apart whatever the size, CPUs and
load).
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING
from zoneinfo import ZoneInfo

import pandas as pd

from groupops.canonical import Entity, RawRecord, Source
from groupops.ingest.chunking import source_chunks
from groupops.ingest.expectations import Bounds, Validator, validate
from groupops.ingest.keyed import Keyed, keyed
from groupops.ingest.normalise import Rejection, normalise, normalise_frame

if TYPE_CHECKING:
    from types import TracebackType

#: An entity file at least this large is prepared apart on two usable CPUs (~310k messages of
#: the bench's bundle, four chunks: with fewer, the child's start and its first chunk, beside
#: the parent's first write, cost about what the overlap saves; 200k measured slower).
APART_MIN_BYTES = 64 << 20

_HEADER = struct.Struct("!BQI")  # kind, main pickle's length, number of out-of-band buffers
_LENGTH = struct.Struct("!Q")
_CHUNK, _END, _ERROR = 1, 2, 3


@dataclass(frozen=True)
class Prepared:
    """One chunk ready to write: the rows that passed validation (``keyed``: made
    :func:`~groupops.ingest.store.keyed` already, when prepared apart) and the rejections."""

    valid: pd.DataFrame
    rejections: list[Rejection]
    keyed: Keyed | None = None


@dataclass(frozen=True)
class Job:
    """What the child needs to prepare an entity's chunks (all of it picklable)."""

    source: Source
    entity: Entity
    chunk_size: int
    tz: ZoneInfo
    bounds: Bounds
    groups: frozenset[str]
    validator: Validator
    skip: int = 0  # the chunks the parent prepares itself (the first, while the child starts)


def prepare(
    entity: Entity,
    chunk: list[RawRecord] | pd.DataFrame,
    *,
    tz: ZoneInfo,
    bounds: Bounds,
    groups: set[str] | frozenset[str],
    validator: Validator,
) -> Prepared:
    """Normalise and validate one chunk (a list of records, or the columnar reader's frame)."""
    if isinstance(chunk, pd.DataFrame):
        normalised = normalise_frame(entity, chunk, tz)
    else:
        normalised = normalise(entity, chunk, tz)
    valid, rejected = validate(entity, normalised.frame, bounds=bounds, known_groups=groups,
                               validator=validator)  # fmt: skip
    return Prepared(valid, normalised.rejected + rejected)


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity), not the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


#: Idle CPUs the machine must show at an entity's start for it to be prepared apart: the
#: parent and the child each keep one busy, half a CPU short is tolerated. With one CPU of two
#: busy elsewhere the two processes share the one left and the overlap lost (1M: 15.5–16.1 s
#: wall against 14.4–14.8 serial; docs/performance.md's notes, *pipeline* and *ratio*).
APART_MIN_IDLE = 1.5
#: How long :func:`idle_cpus` watches the machine (this thread asleep, so it counts others).
IDLE_SAMPLE_SECONDS = 0.1


def _cpu_ticks(stat: str) -> tuple[int, int] | None:
    """(idle, total) clock ticks of the first line of ``/proc/stat``'s text (all CPUs): idle
    counts ``idle`` and ``iowait``; total the eight fields from ``user`` to ``steal`` (the
    guest fields are already counted in ``user`` and ``nice``). ``None`` when it is not such a
    line."""
    fields = stat.split("\n", 1)[0].split()
    if len(fields) < 9 or fields[0] != "cpu" or not all(f.isdigit() for f in fields[1:9]):
        return None
    ticks = [int(f) for f in fields[1:9]]
    return ticks[3] + ticks[4], sum(ticks)


def _read_stat() -> str | None:
    try:
        return Path("/proc/stat").read_text(encoding="ascii")
    except OSError:  # not Linux, or no /proc
        return None


def idle_cpus(seconds: float = IDLE_SAMPLE_SECONDS) -> float | None:
    """How many CPUs stood idle while this thread slept ``seconds`` (from ``/proc/stat``'s
    counters): what other work leaves free. ``None`` where ``/proc/stat`` cannot be read."""
    first = _read_stat()
    if first is None:
        return None
    before = _cpu_ticks(first)
    if before is None:
        return None
    time.sleep(seconds)
    second = _read_stat()
    after = _cpu_ticks(second) if second is not None else None
    if after is None or after[1] <= before[1]:
        return None
    cpus = len([line for line in first.splitlines() if line[:3] == "cpu" and line[3:4].isdigit()])
    return max(cpus, 1) * (after[0] - before[0]) / (after[1] - before[1])


def prepares_apart(source: Source, entity: Entity, workers: int | None) -> bool:
    """Whether ``entity`` of ``source`` is prepared in a child (see the module docstring):
    ``workers`` 0 never, 1 whenever the source offers it, ``None`` when it can pay: a large
    entity, two usable CPUs, and at least :data:`APART_MIN_IDLE` CPUs idle at the entity's
    start (unknown where ``/proc/stat`` is missing: then as if idle)."""
    measure = getattr(source, "apart_bytes", None)
    if workers == 0 or measure is None:
        return False
    size = measure(entity)
    if size is None:
        return False
    if workers is not None:
        return True
    if size < APART_MIN_BYTES or usable_cpus() < 2:
        return False
    idle = idle_cpus()
    return idle is None or idle >= APART_MIN_IDLE


class PreparingChild:
    """The child process preparing one entity's chunks; iterate it for :class:`Prepared`
    chunks in order. Start it early (its imports overlap the parent's own work), then
    :meth:`send` the job. Use as a context manager: leaving it kills a child still running."""

    def __init__(self) -> None:
        read, write = os.pipe()
        root = str(Path(__file__).resolve().parents[2])  # the folder holding `groupops`
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-P", "-m", "groupops.ingest.preparing_child", str(write)],
                stdin=subprocess.PIPE,
                pass_fds=(write,),
                env=env,
            )
        except BaseException:
            os.close(read)
            raise
        finally:
            os.close(write)
        self._pipe: io.BufferedReader = os.fdopen(read, "rb")

    def send(self, job: Job) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        try:
            pickle.dump(job, stdin, protocol=pickle.HIGHEST_PROTOCOL)
            stdin.close()
        except BrokenPipeError:  # the child died at its start: its exit code says how
            pass

    def __iter__(self) -> Iterator[Prepared]:
        while True:
            kind, payload = _receive(self._pipe)
            if kind == _CHUNK:
                assert isinstance(payload, Prepared)
                yield payload
            elif kind == _END:
                self._process.wait()
                return
            elif kind == _ERROR:
                assert isinstance(payload, BaseException)
                raise payload
            else:  # EOF: the child ended without saying why
                code = self._process.wait()
                raise RuntimeError(
                    f"the ingest's preparing process ended unexpectedly (exit code {code})"
                )

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        self._pipe.close()
        if self._process.stdin is not None and not self._process.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self._process.stdin.close()

    def __enter__(self) -> PreparingChild:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _read_exactly(pipe: io.BufferedReader, size: int) -> bytearray | None:
    buffer = bytearray(size)
    view = memoryview(buffer)
    done = 0
    while done < size:
        got = pipe.readinto(view[done:])
        if not got:
            return None
        done += got
    return buffer


def _receive(pipe: io.BufferedReader) -> tuple[int, object]:
    """One message from the child: (kind, payload); kind 0 at the end of the pipe."""
    header = _read_exactly(pipe, _HEADER.size)
    if header is None:
        return 0, None
    kind, length, count = _HEADER.unpack(header)
    lengths = _read_exactly(pipe, _LENGTH.size * count)
    main = _read_exactly(pipe, length)
    if lengths is None or main is None:
        return 0, None
    buffers: list[bytearray] = []
    for (size,) in _LENGTH.iter_unpack(lengths):
        buffer = _read_exactly(pipe, size)
        if buffer is None:
            return 0, None
        buffers.append(buffer)
    return kind, pickle.loads(main, buffers=buffers)


def _send(pipe: IO[bytes], kind: int, payload: object) -> None:
    buffers: list[pickle.PickleBuffer] = []
    main = pickle.dumps(payload, protocol=5, buffer_callback=buffers.append)
    views = [buffer.raw() for buffer in buffers]
    pipe.write(_HEADER.pack(kind, len(main), len(views)))
    pipe.write(b"".join(_LENGTH.pack(view.nbytes) for view in views))
    pipe.write(main)
    for view in views:
        pipe.write(view)
    pipe.flush()


def _error(exc: BaseException) -> BaseException:
    """``exc`` if it survives a pickle round trip with its message, else a RuntimeError naming
    its type and message."""
    try:
        copy = pickle.loads(pickle.dumps(exc, protocol=5))
        if type(copy) is type(exc) and str(copy) == str(exc):
            return exc
    except Exception:
        pass
    return RuntimeError(f"{type(exc).__name__}: {exc}")


def _orphan_watch(parent: int) -> None:
    """End the child as soon as its parent is gone (it is re-parented)."""
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(1)


def child_main(fd: int, parent: int, job_stream: IO[bytes]) -> None:
    """The child: read the :class:`Job`, write each prepared chunk, then the end."""
    threading.Thread(target=_orphan_watch, args=(parent,), daemon=True).start()
    with os.fdopen(fd, "wb") as pipe:
        try:
            job: Job = pickle.load(job_stream)
            for chunk in source_chunks(job.source, job.entity, job.chunk_size, skip=job.skip):
                ready = prepare(job.entity, chunk, tz=job.tz, bounds=job.bounds,
                                groups=job.groups, validator=job.validator)  # fmt: skip
                if len(ready.valid):  # sent once, in key order (``valid`` serves its maximum)
                    chunked = keyed(job.entity, ready.valid)
                    ready = Prepared(chunked.frame, ready.rejections, chunked)
                _send(pipe, _CHUNK, ready)
                del chunk, ready  # not held while the next chunk is read
        except Exception as exc:
            _send(pipe, _ERROR, _error(exc))
            return
        _send(pipe, _END, None)


def main(argv: list[str]) -> int:
    """The child's entry (``python -m groupops.ingest.preparing_child FD``)."""
    try:
        child_main(int(argv[1]), os.getppid(), sys.stdin.buffer)
    except (BrokenPipeError, KeyboardInterrupt):  # the parent stopped reading, or Ctrl-C
        return 1
    return 0
