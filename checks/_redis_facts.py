"""Facts the Redis probes share: INFO once per target (per node on a cluster), the bounded SCAN, CONFIG GET, key
types and sizes, and the per-node aggregation.  An error reply anywhere raises (readiness.clients.redis.ErrorReply):
it never becomes a length, a TTL or a missing key."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from readiness.matchers import MISSING
from readiness.probe import Verdict, passed

_STATUS_RANK = {"fail": 0, "error": 1, "skipped": 2, "pass": 3}
# The command that sizes each kind of key; a key of another kind (a string) has no length to judge.
SIZE_COMMANDS = {"list": "LLEN", "zset": "ZCARD", "stream": "XLEN", "set": "SCARD", "hash": "HLEN"}


class ConfigRefused(Exception):
    pass


class UnexpectedReply(Exception):
    """A reply of the wrong shape (not a number where a length was asked): never data."""


def show(key: str, limit: int = 120) -> str:
    """A key name fit for a message or evidence: bytes that are not UTF-8 as \\xNN, control characters escaped."""
    from readiness.clients.redis import display

    return display(key, limit)


def info(ctx: Any, section: str | None = None) -> dict[str, dict[str, Any]]:
    """INFO per node ({"host:port": {...}}), fetched once per target and section; anything but a mapping of fields
    for every node raises."""
    if section:
        infos = ctx.fact(f"info:{section}", lambda h: h.each("INFO", section))
    else:
        infos = ctx.fact("info", lambda h: h.each("INFO"))
    if not isinstance(infos, dict) or not infos or not all(isinstance(i, dict) for i in infos.values()):
        what = f"INFO {section}" if section else "INFO"
        raise UnexpectedReply(f"{what} gave no fields to judge ({type(infos).__name__})")
    return infos


def scan(ctx: Any, limit: int) -> tuple[dict[str, list[str]], bool]:
    """Key names per node and whether the scan reached the end; anything else raises."""
    found = ctx.fact(f"scan:{limit}", lambda h: h.scan(limit))
    ok = isinstance(found, (tuple, list)) and len(found) == 2 and isinstance(found[0], dict) and found[0] \
        and isinstance(found[1], bool) \
        and all(isinstance(keys, list) and all(isinstance(k, str) for k in keys) for keys in found[0].values())
    if not ok:
        raise UnexpectedReply("SCAN gave no list of key names to judge")
    return found[0], found[1]


def config(ctx: Any, name: str) -> dict[str, Any]:
    """CONFIG GET per node; a refusal (managed Redis, rename-command, an ACL) becomes an error that says what to do."""
    def fetch(h: Any) -> dict[str, Any]:
        from readiness.clients.redis import ErrorReply

        try:
            return {node: pairs(reply).get(name, MISSING) for node, reply in h.each("CONFIG", "GET", name).items()}
        except ErrorReply as exc:
            if "NOPERM" in exc.reply or "no permissions" in exc.reply:
                raise ConfigRefused(f"the audit identity may not run CONFIG GET ({exc.reply}): grant it +config|get, "
                                    f"or read {name} elsewhere and attest") from None
            raise ConfigRefused(f"CONFIG GET {name} is refused by this server ({exc.reply}): managed Redis "
                                "(ElastiCache, Memorystore, Azure Cache) and hardened configs disable CONFIG; read "
                                f"{name} from the provider's parameter group and attest, or waive this item") from None

    return ctx.fact(f"config:{name}", fetch)


def pairs(flat: Any) -> dict[str, Any]:
    if isinstance(flat, dict):
        return flat
    items = list(flat or [])
    return {str(items[i]): items[i + 1] for i in range(0, len(items) - 1, 2)}


def types(ctx: Any, keys_by_node: Mapping[str, list[str]]) -> dict[str, str]:
    """TYPE of each key, one round trip per node (on the node that owns the key); "none" for an absent key."""
    handle = ctx.client
    got = {k: a[0] for k, a in keyed_answers(handle.per_key(keys_by_node, "TYPE"), keys_by_node, "TYPE").items()}
    if not all(isinstance(t, str) and t for t in got.values()):
        raise UnexpectedReply("TYPE answered something that is not a type name")
    return got


def lengths(ctx: Any, keys_by_node: Mapping[str, list[str]],
            known: Mapping[str, str] | None = None) -> dict[str, tuple[str, int]]:
    """(type, length) of each key: TYPE in one round trip per node (unless ``known``), then the sizing command of
    each key's type in a second.  An absent key is ("none", 0); a key of a kind without a length is (kind, 0)."""
    handle = ctx.client
    kinds = dict(known) if known is not None else types(ctx, keys_by_node)
    out: dict[str, tuple[str, int]] = {k: (kinds[k], 0) for keys in keys_by_node.values() for k in keys}
    for node, keys in keys_by_node.items():
        sized = [k for k in keys if kinds[k] in SIZE_COMMANDS]
        answers = handle.batch(node, [(SIZE_COMMANDS[kinds[k]], k) for k in sized])
        for key, n in zip(sized, answers, strict=True):
            if not isinstance(n, int) or isinstance(n, bool):
                raise UnexpectedReply(f"{SIZE_COMMANDS[kinds[key]]} {show(key)} answered {n!r}, not a length")
            out[key] = (kinds[key], n)
    return out


def keyed_answers(got: Any, keys_by_node: Mapping[str, list[str]], command: str) -> dict[str, list[Any]]:
    """per_key's answers, checked: one non-empty list for every key asked about, or an error."""
    wanted = [k for keys in keys_by_node.values() for k in keys]
    if not isinstance(got, dict) or any(not isinstance(got.get(k), list) or not got[k] for k in wanted):
        raise UnexpectedReply(f"{command} did not answer for every key asked about")
    return {k: got[k] for k in wanted}


def by_node(ctx: Any, keys: list[str]) -> dict[str, list[str]]:
    handle = ctx.client
    out: dict[str, list[str]] = {}
    for key in keys:
        out.setdefault(handle.node_for(key), []).append(key)
    return out


def per_node(infos: dict[str, dict[str, Any]], judge: Callable[[dict[str, Any]], Verdict]) -> Verdict:
    """Judge each node; the worst verdict wins, named after its node when there are several."""
    verdicts = {node: judge(i) for node, i in infos.items()}
    if not verdicts:
        from readiness.probe import undecided

        return undecided("no node was judged")
    if len(verdicts) == 1:
        return next(iter(verdicts.values()))
    node, worst = min(verdicts.items(), key=lambda kv: _STATUS_RANK[kv[1].status])
    evidence = {n: dict(v.evidence) for n, v in verdicts.items()}
    if worst.status == "pass":
        return passed(f"every node: {worst.message}", nodes=evidence)
    return Verdict(worst.status, f"{node}: {worst.message}", {"nodes": evidence})
