"""Forged buttons read and change nothing: every callback payload the bot ever builds (and the commands
that read cases), replayed with a victim's ticket (and its dialogue) by another citizen, an official who
does not handle the case and a stranger. None of them may see the victim's name, phone, description or ticket, in a message or an
alert, and nothing in Redis may change but the presser's own footprint (their session, their profile).

The replayed table is checked against the code: every ``callbacks.build`` call and every builder
wrapping it (found by reading handlers/), and every ``CallbackQueryHandler`` pattern registered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import CallbackQueryHandler

from bot.context import DEPS_KEY, Deps
from bot.domain.cases import CaseAction
from emulator import ScriptedUser
from storage.dialogues import Dialogue
from tests.e2e.conftest import STAFF, Harness, Staff
from tests.e2e.flows import consent, stored_petition

ROOT = Path(__file__).resolve().parents[2]
VICTIM_FIRST, VICTIM_LAST = "Xuyến", "Đặng Thị"
SECRET_WORD = "QX4417"  # only in the victim's description
DESCRIPTION = f"Hàng rào lấn chiếm lối đi chung của tổ dân phố 3, biển số {SECRET_WORD}, từ tháng trước."
PHONE_DIGITS = "912345678"  # the emulator's shared phone, +84912345678
TAG = "f00d"
SELF_SERVICE_AUDIT = {"data_erasure"}  # a draft / invite / broadcast tag the presser does not own

# Every payload the bot builds, with {T} the victim's ticket, {S} its stage, {D} its dialogue, {O} an
# official, {L} a locality code, {C} a category. Data-rights actions that act on the presser's own
# record (withdraw, erase) come last.
PAYLOADS = [
    # o: the case card and what completes its actions (handlers/official)
    *[f"o:{action.value}:{{T}}:{{S}}" for action in CaseAction],
    "o:his:{T}",
    "o:card:{T}",
    "o:cx:{T}",
    "o:tpl:{T}:{S}:0",
    "o:top:{T}:{S}",
    "o:tpc:{T}:{S}:{C}",
    "o:trt:{T}:{S}:{O}",
    "o:inb:0:all",
    "o:inb:0:submitted",
    # m: /my (handlers/citizen/my.py)
    "m:p:0",
    "m:o:{T}:0",
    "m:ai:{T}",
    # v: the citizen's verdict (handlers/citizen/verdict.py)
    "v:y:{T}",
    "v:n:{T}",
    "v:r:{T}:5",
    "v:s:{T}",
    # dg: dialogues (handlers/dialogues.py)
    "dg:att:{D}",
    "dg:ask:{D}",
    "dg:rem:{D}",
    "dg:lv:{D}",
    "dg:v:{D}",
    "dg:pub:{D}",
    "dg:rs:{D}",
    "dg:cx:{D}",
    "dg:held:{D}",
    "dg:ans:{D}:{T}",
    "dg:prop:{D}",
    "dg:x",
    "dg:k:dialogue",
    "dg:lc:{L}",
    "dg:ld",
    "dg:tp:{C}",
    "dg:td",
    "dg:nc",
    "dg:pp",
    "dg:sv",
    "dg:oa",
    "dg:oc",
    "dg:of:{O}",
    "dg:pl:{L}",
    "dg:pc:{C}",
    # i: the intake (handlers/citizen/intake.py), on a draft that is not the presser's
    *[
        f"i:{action}:{TAG}{arg}"
        for action, arg in [
            ("ok", ""),
            ("rs", ""),
            ("rn", ""),
            ("cx", ""),
            ("lp", ":0"),
            ("lq", ":0"),
            ("dk", ""),
            ("lc", ":{L}"),
            ("ct", ":{C}"),
            ("ty", ":report"),
            ("tf", ":complaint"),
            ("tb", ""),
            ("ad", ""),
            ("ax", ""),
            ("ed", ""),
            ("ef", ":description"),
            ("bs", ""),
            ("ds", ""),
            ("ca", ""),
            ("mt", ":{T}"),
            ("mn", ""),
        ]
    ],
    # c, l: consent and language (handlers/citizen/start.py)
    "c:pn",
    "c:ch",
    "c:t:petitions",
    "c:t:announcements:00",
    "c:ok",
    "c:ok:10",
    "c:no",
    "l:en",
    "l:vi",
    # iv, of: onboarding (handlers/admin/onboarding.py)
    *[f"iv:{action}:{TAG}" for action in ("st", "ex", "nw", "x", "ok", "up", "un")],
    "iv:pk:{TAG}:{O}",
    "iv:ro:{TAG}:official",
    *[f"iv:{kind}{suffix}:{TAG}" for kind in "lc" for suffix in "pad"],
    "iv:lt:{TAG}:{L}:0",
    "iv:ct:{TAG}:{C}:0",
    "of:ls:0",
    "of:v:{O}",
    "of:de:{O}",
    "of:re:{O}",
    "of:el:{O}",
    "of:ec:{O}",
    "of:x:{O}",
    *[f"of:{kind}{suffix}:{{O}}" for kind in "lc" for suffix in "pad"],
    "of:lt:{O}:{L}:0",
    "of:ct:{O}:{C}:0",
    # st, ex: /stats and /export (handlers/admin/reports.py)
    "st:p:month",
    "st:p:custom",
    "ex:f:csv",
    "ex:p:csv:month",
    # sb: subscriptions (handlers/citizen/subscriptions.py)
    "sb:ok",
    "sb:n",
    "sb:d",
    "sb:a:{L}",
    "sb:r:{L}",
    "sb:ra",
    # bc: /broadcast (handlers/admin/broadcast.py)
    *[f"bc:{action}:{TAG}" for action in ("all", "loc", "d", "e", "ok", "x")],
    "bc:t:{TAG}:{L}",
    *[f"bc:{action}:1" for action in ("p", "r", "c", "cy", "cn", "u")],
    # pv: data rights (handlers/citizen/privacy.py), the presser's own record: last
    "pv:dl",
    "pv:keep",
    "pv:del",
    "pv:wd",
    "pv:wd:announcements",
    "pv:wd:petitions",
    "pv:delok",
]

# The builders that wrap ``callbacks.build`` (module → helper name → namespace), and the payloads built
# from runtime values that a reading of the code cannot list.
WRAPPERS = {
    "handlers/dialogues.py": {"_cb": "dg"},
    "handlers/admin/broadcast.py": {"_cb": "bc"},
    "handlers/citizen/subscriptions.py": {"_cb": "sb"},
    "handlers/citizen/views.py": {"_intake": "i"},
    "handlers/official/views.py": {"case_callback": "o"},
    "handlers/admin/views.py": {"iv": "iv", "of": "of"},
}
BUILT_FROM_VALUES = {
    ("handlers/admin/reports.py", "namespace", '"p"'): {("st", "p"), ("ex", "p")},
    ("handlers/admin/views.py", "INVITE_NS", "action"): set(),  # the iv(...) wrapper
    ("handlers/admin/views.py", "OFFICIALS_NS", "action"): set(),  # the of(...) wrapper
    **{
        ("handlers/admin/views.py", "ns", f'f"{{kind}}{suffix}"'): {
            (ns, f"{kind}{suffix}") for ns in ("iv", "of") for kind in "lc"
        }
        for suffix in "tpad"
    },
    ("handlers/admin/views.py", "ns", '"x"'): {("iv", "x"), ("of", "x")},
    ("handlers/dialogues.py", "NS", "action"): set(),  # the _cb(...) wrapper
    ("handlers/admin/broadcast.py", '"bc"', "action"): {("bc", a) for a in ("p", "r", "c", "cy", "cn", "u")},
    ("handlers/citizen/subscriptions.py", '"sb"', "action"): set(),
    ("handlers/citizen/views.py", '"i"', "action"): set(),
    ("handlers/official/views.py", '"o"', "action"): {("o", a.value) for a in CaseAction},
}
BUILD_CALL = re.compile(r"callbacks\.build\(\s*([^,()]+?)\s*,\s*([^,()]+?)\s*[,)]")
LITERAL = re.compile(r'^"(\w+)"$')


def emitted_pairs() -> set[tuple[str, str]]:
    """Every (namespace, action) the handlers build, read from their source."""
    pairs: set[tuple[str, str]] = set()
    unknown = []
    for path in sorted((ROOT / "handlers").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        module = str(path.relative_to(ROOT))
        for match in BUILD_CALL.finditer(source):
            namespace, action = LITERAL.match(match.group(1)), LITERAL.match(match.group(2))
            if namespace and action:
                pairs.add((namespace.group(1), action.group(1)))
            elif (module, match.group(1), match.group(2)) in BUILT_FROM_VALUES:
                pairs |= BUILT_FROM_VALUES[(module, match.group(1), match.group(2))]
            else:
                unknown.append((module, match.group(1), match.group(2)))
        for helper, namespace_of in WRAPPERS.get(module, {}).items():
            call = re.compile(rf'(?<![\w.]){helper}\(\s*(?:[\w.]+\s*,\s*)?"(\w+)"')
            pairs |= {(namespace_of, action) for action in call.findall(source)}
    assert not unknown, f"a new way of building callback data: add it to BUILT_FROM_VALUES: {unknown}"
    return pairs


def test_the_replayed_payloads_cover_every_button_the_code_builds() -> None:
    pairs = emitted_pairs()
    assert len(pairs) > 80 and ("o", "cx") in pairs and ("o", "tpl") in pairs  # the reading works
    replayed = {tuple(p.split(":")[:2]) for p in PAYLOADS}
    assert not pairs - replayed, f"buttons never replayed: {sorted(pairs - replayed)}"


@dataclass
class Victim:
    ticket: str
    dialogue: Dialogue
    officer: ScriptedUser


def deps_of(h: Harness) -> Deps:
    assert h.runtime.application is not None
    deps = h.runtime.application.bot_data[DEPS_KEY]
    assert isinstance(deps, Deps)
    return deps


async def victim_case(h: Harness, staff: Staff) -> Victim:
    """A named citizen's question for a dialogue (held since), accepted by the Thành Sen officer."""
    _ = h.tr("vi")
    deps = deps_of(h)
    admin = await deps.cases.actor(STAFF["tcd-tb"])
    thanh_sen = next(loc.code for loc in deps.directory.localities if loc.name == "Phường Thành Sen")
    fields: dict[str, object] = {
        "title": "Đối thoại về đất đai",
        "host_name": "Nguyễn Văn A",
        "host_title": "Chủ tịch UBND phường",
        "kind": "dialogue",
        "starts_at": (h.clock.now() + timedelta(days=3)).isoformat(),
        "place": "Hội trường UBND phường",
        "localities": [thanh_sen],
        "topics": ["land"],
        "capacity": None,
    }
    dialogue = await deps.dialogues.publish(admin, (await deps.dialogues.create(admin, fields)).id)
    citizen = h.citizen(first_name=VICTIM_FIRST, last_name=VICTIM_LAST)
    await consent(h, citizen, "vi")
    await citizen.send("/dialogues")
    await citizen.tap(_("❓ Submit a question"))
    await citizen.send("Thành Sen")
    await citizen.tap("Phường Thành Sen")
    await citizen.tap("Đất đai")
    await citizen.tap(_("Question"))
    await citizen.send(DESCRIPTION)
    await citizen.tap(_("⏭ Skip — no attachments"))
    await citizen.tap_reply(_("📱 Share my phone number"))
    await citizen.tap(_("✅ Send"))
    receipt = await citizen.expect("HT-")
    ticket = next(w for w in (receipt.text or "").replace("\n", " ").split() if w.startswith("HT-"))
    ticket = ticket.strip(".,")
    officer = staff["ts-cb"]
    card = await officer.expect(ticket)
    assert VICTIM_FIRST in (card.text or "") and SECRET_WORD in (card.text or "")
    await officer.tap(_("✅ Accept"))
    await officer.expect(_("✅ {ticket} accepted. The citizen has been told.").format(ticket=ticket))
    held = await deps.dialogues.mark_held(admin, dialogue.id)
    petition = await stored_petition(h, ticket)
    assert petition.dialogue_id == dialogue.id and petition.contact_phone and not petition.is_anonymous
    return Victim(ticket, held, officer)


async def footprint_free_snapshot(h: Harness, telegram_id: int) -> dict[str, Any]:
    """Every key and value, minus the presser's own keys and memberships and the update bookkeeping."""
    own = {str(telegram_id), f"tg:{telegram_id}"}
    ignored = {
        h.keys.handled_updates(),
        h.keys.update_offset(),
        h.keys.pending_updates(),  # the sentinel's own entry goes right after its answer: a race
        h.keys.poller_heartbeat(),
        h.keys.broadcast_pacer(),
        h.keys.processes(),
    }
    heartbeats = h.keys.process_heartbeat("")  # every process's own heartbeat (bot.health)
    r = h.redis
    found: dict[str, Any] = {}
    async for key in r.scan_iter(match=f"{h.keys.root}:*"):
        if (
            key in ignored or key.startswith(heartbeats) or str(telegram_id) in key.split(":")
        ):  # session:tg:<id>, awaiting:<id>...
            continue
        kind = await r.type(key)
        value: Any
        if kind == "string":
            value = await r.get(key)
        elif kind == "set":
            value = sorted(m for m in await r.smembers(key) if m not in own)
        elif kind == "zset":
            value = [e for e in await r.zrange(key, 0, -1, withscores=True) if e[0] not in own]
        elif kind == "hash":
            value = {f: v for f, v in (await r.hgetall(key)).items() if f not in own}
        elif kind == "list":
            value = [m for m in await r.lrange(key, 0, -1) if m not in own]
        elif kind == "stream":  # the presser erasing their own data is audited without naming them
            value = [e for e in await r.xrange(key) if e[1].get("action") not in SELF_SERVICE_AUDIT]
        else:
            value = kind
        if value or kind == "string":  # a collection holding only the presser is theirs
            found[key] = value
    return found


def secrets_of(victim: Victim) -> list[str]:
    return [VICTIM_FIRST, VICTIM_LAST, PHONE_DIGITS, SECRET_WORD, victim.ticket]


async def press_and_settle(h: Harness, user: ScriptedUser, data: str) -> list[str]:
    """Press ``data`` on the user's newest bot message; return every text the user was shown for it
    (alert, new or edited messages, captions), once the bot has handled the press."""
    return await _settle(h, user, data, command=False)


async def send_and_settle(h: Harness, user: ScriptedUser, command: str) -> list[str]:
    """Send ``command``; return every text the user was shown for it once the bot has handled it."""
    return await _settle(h, user, command, command=True)


async def _settle(h: Harness, user: ScriptedUser, data: str, *, command: bool) -> list[str]:
    seq = h.emulator.current_seq
    anchor = [m for m in h.emulator.bot_messages(user.chat_id) if m.kind == "text"][-1]  # pressable text
    query = None
    if command:
        await user.send(data)
    else:
        query = h.emulator.user_presses(user.user, anchor, data, strict=False)["callback_query"]["id"]
    # One user's updates are handled in order: once this notice arrives, the update is fully handled.
    sentinel = h.emulator.user_presses(user.user, anchor, "c:pn", strict=False)["callback_query"]["id"]

    def settled() -> bool:
        return sentinel in h.emulator.callback_answers and any(
            m.from_bot and "📄" in (m.text or "") and m.seq > seq
            for m in h.emulator.changes_since(user.chat_id, seq)
        )

    await h.emulator.wait_for(settled, timeout=10)
    shown = [str(h.emulator.callback_answers.get(query, {}).get("text") or "")] if query else []
    for message in h.emulator.changes_since(user.chat_id, seq):
        if message.from_bot:
            shown.append(message.text or "")
            shown.append(str(message.raw.get("caption") or ""))
    return shown


# Commands that read or change a case (or list cases), with the victim's ticket and dialogue. Few, so
# that a citizen stays under the flood limit.
COMMANDS = [
    "/dialogue {D}",
    "/dialogues",
    "/inbox",
    "/my",
    "/block {T} spam",
    "/unblock {T} spam",
    "/stats",
    "/export",
    "/cancel",
]


async def replay_everything(h: Harness, user: ScriptedUser, victim: Victim) -> list[str]:
    """Every command and every payload as ``user``: what leaked or changed, as readable lines."""
    petition = await stored_petition(h, victim.ticket)
    thanh_sen = petition.locality_code
    values = {
        "T": victim.ticket,
        "S": str(petition.stage),
        "D": victim.dialogue.id,
        "O": "ts-cb",
        "L": thanh_sen,
        "C": "land",
        "TAG": TAG,
    }
    problems = []
    before = await footprint_free_snapshot(h, user.user.id)
    for template in [*COMMANDS, *PAYLOADS]:
        data = template.replace("{TAG}", TAG).format(**values)
        if data.startswith("/"):
            shown = await send_and_settle(h, user, data)
        else:
            shown = await press_and_settle(h, user, data)
        leaked = [s for s in secrets_of(victim) if any(s in text for text in shown)]
        if leaked:
            problems.append(f"{data}: showed {leaked}: {[t for t in shown if t][:3]}")
        after = await footprint_free_snapshot(h, user.user.id)
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        if changed:
            problems.append(f"{data}: changed {changed}")
            before = after
    return problems


@pytest.mark.parametrize("role", ["citizen", "other official", "stranger"])
async def test_forged_buttons_show_and_change_nothing(harness: Harness, staff: Staff, role: str) -> None:
    h = harness
    victim = await victim_case(h, staff)
    if role == "citizen":
        user = h.citizen(first_name="Bình", last_name="Lê")
        await consent(h, user, "vi")
    elif role == "other official":
        user = staff["hht-cb"]  # an active official of another ward: not the assignee, not above them
    else:
        user = h.citizen(first_name="Khách", last_name=None)
    await user.send("/help")
    await user.expect("/new")
    problems = await replay_everything(h, user, victim)
    assert not problems, "\n".join(problems)
    petition = await stored_petition(h, victim.ticket)
    assert petition.assignee_id == "ts-cb" and [e.action for e in petition.history][-1] == "accepted"


async def test_the_replay_sees_a_leak_when_there_is_one(harness: Harness, staff: Staff) -> None:
    """The detector itself: the case's own officer is shown the card, and the replay says so."""
    h = harness
    victim = await victim_case(h, staff)
    shown = await press_and_settle(h, victim.officer, f"o:card:{victim.ticket}")
    assert all(any(s in text for text in shown) for s in secrets_of(victim)), shown


def test_every_registered_button_pattern_is_replayed(harness: Harness) -> None:
    assert harness.runtime.application is not None
    patterns = [
        handler.pattern
        for group in harness.runtime.application.handlers.values()
        for handler in group
        if isinstance(handler, CallbackQueryHandler) and handler.pattern is not None
    ]
    assert len(patterns) > 10
    for pattern in patterns:
        assert isinstance(pattern, re.Pattern)
        assert any(pattern.match(p) for p in PAYLOADS), pattern.pattern
