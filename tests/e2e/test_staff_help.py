"""Officials and admins: /help explains their tools, /language keeps their menu, the command menus list
every staff command (dialogues, /block)."""

from __future__ import annotations

from tests.e2e.conftest import STAFF, Harness, Staff


async def test_help_explains_each_ones_tools(harness: Harness, staff: Staff) -> None:
    h, _ = harness, harness.tr("vi")
    officer, chair, admin = staff["ts-cb"], staff["ts-ct"], staff["tcd-tb"]
    await officer.send("/help")
    tools = await officer.expect(_("For officials"))
    assert "/inbox" in (tools.text or "") and "/dialogue [number]" in (tools.text or "")
    assert _("For administrators") not in (tools.text or "") and _("Dialogues") not in (tools.text or "")
    await officer.expect("/new")  # then the citizen's help: officials may send petitions too
    await chair.send("/help")
    organiser = await chair.expect(_("For officials"))
    assert "/newdialogue" in (organiser.text or "") and "/invite" not in (organiser.text or "")
    await admin.send("/help")
    everything = await admin.expect(_("For administrators"))
    assert "/block" in (everything.text or "") and "/teamchat [official id]" in (everything.text or "")

    citizen = h.citizen()
    await citizen.send("/help")
    answer = await citizen.expect("/new")
    assert _("For officials") not in (answer.text or "")
    assert not h.emulator.rejections


async def test_language_keeps_the_official_menu_and_its_commands(harness: Harness, staff: Staff) -> None:
    h = harness
    officer = staff["ts-cb"]
    await officer.send("/language")
    await officer.tap("🇬🇧 English")
    menu = await officer.expect("/inbox — your open cases")
    assert "/new —" not in (menu.text or "")  # not the citizen's menu
    commands = h.emulator.commands("chat", "", chat_id=STAFF["ts-cb"])
    names = [c["command"] for c in commands]
    assert {"inbox", "dialogue", "dialogues", "new"} <= set(names) and "newdialogue" not in names
    assert next(c for c in commands if c["command"] == "inbox")["description"] == "Open cases assigned to me"

    admin = staff["tcd-tb"]
    await admin.send("/language")
    await admin.tap("🇻🇳 Tiếng Việt")
    await admin.expect("/inbox")
    admin_commands = {c["command"] for c in h.emulator.commands("chat", "", chat_id=STAFF["tcd-tb"])}
    assert {"newdialogue", "block", "unblock", "invite", "broadcast"} <= admin_commands
    assert "dialogues" in {c["command"] for c in h.emulator.commands("all_private_chats", "vi")}


async def test_dialogues_list_for_an_organiser_is_sent(harness: Harness, staff: Staff) -> None:
    h, _ = harness, harness.tr("vi")
    chair = staff["ts-ct"]
    await chair.send("/dialogues")
    await chair.expect("/newdialogue")  # the hint names "/dialogue [number]"
    await chair.send("/dialogue")
    await chair.expect("/dialogue 1")
    assert not h.emulator.rejections
