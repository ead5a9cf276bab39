"""Job queues in Redis, read by name where the names are known, so that their verdict does not depend on a scan
of a keyspace that millions of job keys make too large to walk.

BullMQ (taskforcesh/bullmq src/classes/queue-keys.ts, commit 163ccea1; the 5.x line Langfuse pins): queue <q>
keeps <prefix>:<q>:<suffix> keys, prefix "bull" unless set.  wait, active and paused are lists; delayed,
prioritized, completed and failed are sorted sets; events is a stream; id is a string counter; meta is a hash that
adding the first job creates (getOrSetMaxEvents) and that stays when the queue empties, while Redis deletes an
empty list: meta is how an idle queue is seen to exist.
Langfuse (langfuse/langfuse packages/shared/src/server/redis/redis.ts getQueuePrefix, commit 62751446): the prefix
is REDIS_KEY_PREFIX or "bull"; with REDIS_CLUSTER_ENABLED it is the hash tag {<q>} (or {<REDIS_KEY_PREFIX>:<q>}),
so its keys read {<q>}:<q>:wait.  A pattern's every `*` is filled with the queue name, which covers both forms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from readiness.checks._common import globs_match
from readiness.checks._redis_facts import by_node, lengths, scan, show, types

# The kinds of key a queue is kept in; a key named like a queue holding anything else has no backlog to judge.
QUEUE_TYPES = frozenset({"list", "zset", "stream"})


@dataclass(frozen=True)
class Queues:
    lengths: dict[str, tuple[str, int]]  # every queue key that exists: (type, length)
    odd: dict[str, str]                  # keys named like a queue that hold another kind of value
    known: tuple[str, ...]               # the queue names read by name
    present: tuple[str, ...]             # the known queues this Redis holds (their marker or a queue key exists)
    scan_complete: bool                  # the scan for queues under other names reached the end of the keyspace
    discovered: int                      # queue keys found by the scan alone


def is_glob(name: str) -> bool:
    return any(c in name for c in "*?[")


def fill(pattern: str, name: str) -> str:
    return pattern.replace("*", name)


def read(ctx: Any, patterns: list[str], names: tuple[str, ...] | list[str], markers: list[str],
         limit: int) -> Queues:
    """TYPE and then LLEN/ZCARD/XLEN of: the exact key names in ``patterns``; each glob pattern filled with each
    known queue name (on the node that owns the key); the markers filled likewise (existence only); and the keys of
    the shared bounded scan that match a glob pattern (queues under names not known)."""
    exact = [p for p in patterns if not is_glob(p)]
    globs = [p for p in patterns if is_glob(p)]
    named: dict[str, str | None] = dict.fromkeys(exact)
    for name in names:
        for pattern in globs:
            named.setdefault(fill(pattern, name), name)
    marks = {fill(m, n): n for m in markers for n in names if fill(m, n) not in named}
    asked = by_node(ctx, [*named, *marks])
    complete, discovered = True, 0
    if globs:
        scanned, complete = scan(ctx, limit)
        for node, keys in scanned.items():
            new = [k for k in dict.fromkeys(keys) if k not in named and k not in marks and globs_match(k, globs)]
            asked.setdefault(node, []).extend(new)
            discovered += len(new)
    kinds = types(ctx, asked)
    queue_keys = {node: [k for k in keys if k not in marks] for node, keys in asked.items()}
    sized = lengths(ctx, queue_keys, kinds)
    present = {n for k, n in marks.items() if kinds[k] != "none"}
    present |= {n for k, n in named.items() if n is not None and kinds[k] != "none"}
    return Queues(lengths={k: v for k, v in sized.items() if v[0] != "none"},
                  odd={k: t for k, (t, _) in sized.items() if t not in QUEUE_TYPES and t != "none"},
                  known=tuple(names), present=tuple(sorted(present)), scan_complete=complete, discovered=discovered)


def odd_message(odd: dict[str, str]) -> str:
    key, kind = next(iter(sorted(odd.items())))
    more = f" (and {len(odd) - 1} more)" if len(odd) > 1 else ""
    return (f"{show(key)} is a {show(kind, 20)}, not a queue (list, sorted set or stream){more}: its size is no "
            "backlog; check the key patterns against the product's queue prefix")


def scan_note(q: Queues, limit: int, keyspace: int | None) -> str:
    """What the partial scan means for a verdict made on the known names."""
    of = f" of {keyspace:,}" if keyspace is not None else ""
    return (f"the {len(q.present)} known queues present were read by name; the scan for queues under other names "
            f"stopped at scan_limit={limit} keys{of}, so a queue outside the known names (a shard such as "
            "ingestion-queue-1, a custom prefix) may be missed")


def keyspace(infos: dict[str, dict[str, Any]], db: Any) -> int | None:
    """Keys in the target's database across the nodes (INFO keyspace), or None where INFO does not say."""
    total = 0
    for i in infos.values():
        stats = i.get(f"db{db}") if isinstance(i, dict) else None
        keys = stats.get("keys") if isinstance(stats, dict) else 0
        if not isinstance(keys, int) or isinstance(keys, bool):
            return None
        total += keys
    return total
