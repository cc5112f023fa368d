"""Owner and admin digests: scopes and contexts (:mod:`.context`), charts (:mod:`.charts`),
idempotent queuing into the outbox (:mod:`.deliver`)."""

from groupops.digest.context import (
    Digest,
    DigestScope,
    Section,
    SectionProvider,
    build_digest,
    change,
    plan_digests,
)
from groupops.digest.deliver import (
    DIGEST_KIND,
    DigestOutcome,
    build_digests,
    digest_log,
    digest_period,
    prepare_digests,
    queue_digests,
)

__all__ = [
    "DIGEST_KIND",
    "Digest",
    "DigestOutcome",
    "DigestScope",
    "Section",
    "SectionProvider",
    "build_digest",
    "build_digests",
    "change",
    "digest_log",
    "digest_period",
    "plan_digests",
    "prepare_digests",
    "queue_digests",
]
