"""Every key of a province hashes to one Redis Cluster slot, so every script and transaction runs on a cluster.

The static half computes slots (redis.crc.key_slot, the cluster's CRC16) for every key ``Keys`` builds and
for the keys the scripts build inside Lua from a prefix (petition and outbox keys). The live half runs on
the session's cluster with ``REDIS_TOPOLOGY=cluster`` (tests/topologies.py), where the province's slot has
a master of its own: Redis refuses any script that touches a key of another slot there.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis.crc import key_slot
from redis.exceptions import ResponseError

from storage.keys import Keys
from tests.conftest import on_cluster

SCRIPTS = Path(__file__).resolve().parents[2] / "storage" / "scripts"


def slot(key: str) -> int:
    """The cluster slot of a key."""
    return key_slot(key.encode())


def every_key(keys: Keys) -> dict[str, str]:
    """One key from each ``Keys`` method (dummy arguments), plus the names scripts build from prefixes."""
    built = {}
    for name, method in inspect.getmembers(keys, inspect.ismethod):
        if name.startswith("_") or name.startswith("personal_data"):
            continue
        arguments = [
            7 if p.annotation in (int, "int") else "x" for p in inspect.signature(method).parameters.values()
        ]
        built[name] = method(*arguments)
    # Built inside Lua: create_petition.lua (ARGV[1] .. ticket), outbox_push.lua / outbox_claim.lua (base ..).
    built["petition built in Lua"] = keys.petition_prefix() + "HT-2026-000001"
    for suffix in ("seq", "lane:tg:1", "lanes", "inflight", "hold"):
        built[f"outbox {suffix} built in Lua"] = keys.outbox_base() + suffix
    built["root"] = keys.root
    for pattern in keys.personal_data_member_patterns() + keys.personal_data_keys("tg:1"):
        built[pattern] = pattern
    return built


@pytest.mark.parametrize("prefix", ["tiengdan", "test0", "a.b-c_d"])
@pytest.mark.parametrize("province", ["ht", "hn", "hcm"])
def test_every_key_of_a_province_is_in_its_slot(prefix: str, province: str) -> None:
    keys = Keys(prefix, province)
    expected = slot("{" + province + "}")
    wrong = {name: key for name, key in every_key(keys).items() if slot(key) != expected}
    assert not wrong


def script_texts() -> dict[str, str]:
    """Every Lua script: storage/scripts/*.lua and the short ones inline in storage/*.py."""
    texts = {path.name: path.read_text(encoding="utf-8") for path in sorted(SCRIPTS.glob("*.lua"))}
    for module in sorted(SCRIPTS.parent.glob("*.py")):
        for i, text in enumerate(re.findall(r'"""(.*?)"""', module.read_text(encoding="utf-8"), re.S)):
            if "redis.call" in text:
                texts[f"{module.name}#{i}"] = text
    return texts


def test_scripts_touch_only_declared_keys_or_names_built_from_a_province_prefix() -> None:
    """A key operand in a script is KEYS[...], a local taken from KEYS, or ``<prefix ARGV> .. name`` — the
    prefixes (petition, dialogue, outbox) are checked above to carry the province's hash tag."""
    allowed = re.compile(
        r"^(KEYS\[.*|ARGV\[\d\] \.\. (ticket|id)|base \.\. .*|lane_key|unpack\(sources\)?|key)$"
    )
    unexpected = []
    texts = script_texts()
    assert len(texts) >= 20
    for name, text in texts.items():
        for command, first in re.findall(r"redis\.call\('(\w+)',\s*([^,]+?)[,)]", text):
            if command != "TIME" and not allowed.match(first.strip()):
                unexpected.append((name, command, first))
    assert not unexpected
    # The cluster routes a script by its KEYS: each one that builds names in Lua declares a key too.
    for name, text in texts.items():
        if name == "outbox_push.lua":  # a library prepended to scripts that declare their keys
            continue
        if re.search(r"(ARGV\[\d\]|base) \.\. ", text):
            assert "KEYS[1]" in text, name


@pytest.mark.skipif(not on_cluster(), reason="needs REDIS_TOPOLOGY=cluster")
async def test_the_cluster_refuses_a_script_reaching_outside_the_province_slot(redis: aioredis.Redis) -> None:
    """What makes the cluster session a proof: a key of another slot, even one built inside the script, is
    refused on the province's node; the same script with the province's prefix runs."""
    keys = Keys("slotcheck", "ht")
    script = "return redis.call('SET', ARGV[1] .. 'x', '1')"
    assert await redis.eval(script, 1, keys.root, keys.root + ":") == "OK"
    foreign = Keys("slotcheck", "hn").root + ":"
    assert slot(foreign) != slot(keys.root)
    with pytest.raises(ResponseError, match="non local key"):
        await redis.eval(script, 1, keys.root, foreign)
