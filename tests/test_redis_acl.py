"""Least privilege: the audit identity needs exactly the ACL the README states.  With it, the whole redis section is
judged as the admin judges it (standalone, every preset, and a Cluster); without any one of its commands, an item
says NOPERM instead of judging."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from checklists import generic_item
from fixtures_redis import AUDITOR, AUDITOR_ACL, PW, RedisStack, client, redis_checklist, scratch_redis
from helpers import audit

from readiness.demo.process import Server

RULES = AUDITOR_ACL.split()[2:]  # after "user auditor"
CONFIG_ITEM = generic_item("redis.x-protected", "redis.config", parameter="protected-mode", expect={"equals": "yes"})


def _user(servers: list[Server], name: str, rules: list[str]) -> None:
    for server in servers:
        admin = client(server.port)
        admin.execute_command("ACL", "SETUSER", name, "reset", *rules)
        admin.close()


def _drop(servers: list[Server], name: str) -> None:
    for server in servers:
        admin = client(server.port)
        admin.execute_command("ACL", "DELUSER", name)
        admin.close()


@pytest.fixture()
def cleanup(redis_stack: RedisStack) -> Iterator[list[tuple[list[Server], str]]]:
    made: list[tuple[list[Server], str]] = []
    yield made
    for servers, name in made:
        _drop(servers, name)


def _statuses(results: dict) -> dict[str, str]:
    return {i: r.status for i, r in results.items() if i.startswith("redis.")}


def test_the_least_privileged_identity_judges_every_item_as_the_admin_does(redis_stack: RedisStack, tmp_path: Path,
                                                                           cleanup: list) -> None:
    user, password = AUDITOR
    _user([redis_stack.langsight, *redis_stack.cluster], user, RULES)
    cleanup.append(([redis_stack.langsight, *redis_stack.cluster], user))
    checklist = redis_checklist(tmp_path, extra=[CONFIG_ITEM])
    nodes = ",".join(f"127.0.0.1:{n.port}" for n in redis_stack.cluster)
    runs = [("langfuse", redis_stack.good, None), ("langsmith", redis_stack.good, None),
            ("langsight", redis_stack.langsight, None), ("langfuse", None, nodes)]
    for preset, server, cluster in runs:
        where = f"redis+cluster://{{auth}}{cluster}" if cluster else f"redis://{{auth}}127.0.0.1:{server.port}/0"
        as_admin, _ = audit(tmp_path, {"preset": preset, "redis": {"url": where.format(auth=f":{PW}@")}}, ["redis"],
                            checklist=checklist)
        least, _ = audit(tmp_path, {"preset": preset, "redis": {"url": where.format(auth=f"{user}:{password}@")}},
                         ["redis"], checklist=checklist)
        assert _statuses(least) == _statuses(as_admin), (preset, cluster)
        denied = {i: r.message for i, r in least.items() if "NOPERM" in r.message or "permission" in r.message}
        assert not denied, denied
        judged = [i for i, r in least.items() if r.status in ("pass", "fail")]
        assert len(judged) >= 8, (preset, _statuses(least))  # real verdicts, not a run of errors and skips
        errors = {i: r.message for i, r in least.items() if r.status == "error"}
        assert set(errors) <= {"redis.memory-vs-limit"}, errors  # needs the kubernetes target: nothing to do with ACLs


# Each command of the ACL, and an audit that needs it: without it, that item must say NOPERM, never judge.
NEEDED = {
    "+ping": ("langfuse", "good", "redis.reachable"),
    "+info": ("langfuse", "good", "redis.eviction-policy"),
    "+scan": ("langfuse", "good", "redis.dedicated"),
    "+type": ("langfuse", "good", "redis.queue-depth"),
    "+llen": ("langfuse", "good", "redis.queue-depth"),
    "+zcard": ("langfuse", "good", "redis.failed-jobs"),
    "+ttl": ("langsight", "langsight", "redis.key-ttls"),
    "+config|get": ("langfuse", "good", "redis.x-protected"),
}


@pytest.mark.parametrize("rule", list(NEEDED))
def test_without_any_one_command_of_the_acl_an_item_says_noperm(redis_stack: RedisStack, tmp_path: Path,
                                                                cleanup: list, rule: str) -> None:
    preset, server_name, item = NEEDED[rule]
    server = getattr(redis_stack, server_name)
    name = f"minus-{rule[1:].replace('|', '-')}"
    _user([server], name, [f">{PW}" if r.startswith(">") else r for r in RULES if r != rule])
    cleanup.append(([server], name))
    checklist = redis_checklist(tmp_path, extra=[CONFIG_ITEM])
    results, _ = audit(tmp_path, {"preset": preset, "redis": {"url": f"redis://{name}:{PW}@127.0.0.1:{server.port}/0"}},
                       [item], checklist=checklist)
    assert rule in RULES
    assert results[item].status == "error", (rule, results[item].message)
    assert "NOPERM" in results[item].message or "no permissions" in results[item].message, results[item].message


def test_a_default_user_without_password_but_without_commands_is_not_a_pass(server_root: Path,
                                                                             tmp_path: Path) -> None:
    users = ["user default on nopass resetchannels -@all", f"user admin on >{PW} resetchannels ~* +@all"]
    with scratch_redis(server_root, "nopass-default", password=None, users=users) as server:
        results, _ = audit(tmp_path, {"redis": {"url": f"redis://admin:{PW}@127.0.0.1:{server.port}/0"}},
                           ["redis.auth-required", "redis.reachable"], checklist=redis_checklist(tmp_path))
    auth = results["redis.auth-required"]
    assert results["redis.reachable"].status == "pass"
    assert auth.status == "error" and "without a password but refused PING" in auth.message, auth.message
    assert "NOPERM" in auth.evidence["server_said"]
