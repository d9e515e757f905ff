"""Pure builders of what admins see: the /invite steps, the issued link, /officials and its details.

Callback namespaces: ``iv`` (the /invite flow, ``iv:<action>:<draft tag>[:<arg>...]``) and ``of``
(/officials, ``of:<action>:<official id or draft tag>[:<arg>...]``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Literal

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import callbacks
from bot.domain.directory import Directory
from bot.i18n import N_, Gettext
from handlers.citizen.views import button, local_time
from handlers.common import Screen, esc
from storage.invites import Invite, InviteDraft
from storage.models import Official, Role, Unit

INVITE_NS = "iv"
OFFICIALS_NS = "of"
PER_PAGE = 8
SUMMARY_NAMES = 12  # localities or categories named in a summary before "and N more"

Kind = Literal["l", "c"]  # localities / categories

ROLE_LABELS = {
    Role.OFFICIAL: N_("Official"),
    Role.SUPERVISOR: N_("Supervisor"),
    Role.ADMIN: N_("Administrator"),
}


def iv(action: str, tag: str, *args: str | int) -> str:
    """``iv:<action>:<tag>[...]``."""
    return callbacks.build(INVITE_NS, action, tag, *args)


def of(action: str, *args: str | int) -> str:
    """``of:<action>[...]``."""
    return callbacks.build(OFFICIALS_NS, action, *args)


def _page_of(count: int, page: int) -> tuple[int, int]:
    """The page clamped into range, and the number of pages (at least 1)."""
    page_count = max(1, -(-count // PER_PAGE))
    return min(max(page, 0), page_count - 1), page_count


def _nav(page: int, page_count: int, data: Callable[[int], str]) -> list[InlineKeyboardButton]:
    nav: list[InlineKeyboardButton] = []
    if page_count <= 1:
        return nav
    if page > 0:
        nav.append(button("◀️", data(page - 1)))
    nav.append(button(f"{page + 1}/{page_count}", data(page)))
    if page < page_count - 1:
        nav.append(button("▶️", data(page + 1)))
    return nav


def unit_name(units: Mapping[str, Unit], key: str) -> str:
    """A unit's name, or its key when it is not in the directory."""
    unit = units.get(key)
    return unit.name if unit else key


def _summary(names: Sequence[str], _: Gettext) -> str:
    shown = ", ".join(esc(n) for n in names[:SUMMARY_NAMES])
    if len(names) > SUMMARY_NAMES:
        shown += " " + _("and {count} more").format(count=len(names) - SUMMARY_NAMES)
    return shown


def localities_text(_: Gettext, codes: Sequence[str], directory: Directory) -> str:
    """The localities an official covers, or "the whole province"."""
    if not codes:
        return _("the whole province")
    names = []
    for code in codes:
        locality = directory.locality(code)
        names.append(locality.name if locality else code)
    return _summary(names, _)


def categories_text(_: Gettext, keys: Sequence[str], directory: Directory) -> str:
    """The categories an official handles, or "all categories"."""
    if not keys:
        return _("all categories")
    names = []
    for key in keys:
        category = directory.category(key)
        names.append(category.name(_.lang) if category else key)
    return _summary(names, _)


# --------------------------------------------------------------------------------------------- /invite


def invite_start(_: Gettext, tag: str) -> Screen:
    """Whom the invitation is for."""
    text = "🔗 <b>{}</b>\n\n{}".format(_("New invitation"), _("Who is it for?"))
    rows = [
        [button(_("👤 An official from the directory"), iv("ex", tag, 0))],
        [button(_("➕ A new official"), iv("nw", tag))],
        [button(_("✖️ Cancel"), iv("x", tag))],
    ]
    return Screen(text, InlineKeyboardMarkup(rows))


def directory_pick(
    _: Gettext, tag: str, officials: Sequence[Official], units: Mapping[str, Unit], page: int
) -> Screen:
    """The officials of the directory nobody has linked yet, 8 per page."""
    if not officials:
        text = _("Every official of the directory has already joined. You can invite a new official instead.")
        rows = [
            [button(_("➕ A new official"), iv("nw", tag))],
            [button(_("✖️ Cancel"), iv("x", tag))],
        ]
        return Screen(text, InlineKeyboardMarkup(rows))
    page, page_count = _page_of(len(officials), page)
    shown = officials[page * PER_PAGE : (page + 1) * PER_PAGE]
    text = "<b>{}</b>\n{}".format(
        _("Officials who have not joined yet"), _("Tap the person this invitation is for.")
    )
    rows = [[button(f"👤 {o.name} · {unit_name(units, o.unit)}", iv("pk", tag, o.id))] for o in shown]
    nav = _nav(page, page_count, lambda p: iv("ex", tag, p))
    if nav:
        rows.append(nav)
    rows.append([button(_("◀️ Back"), iv("st", tag)), button(_("✖️ Cancel"), iv("x", tag))])
    return Screen(text, InlineKeyboardMarkup(rows))


def role_choice(_: Gettext, tag: str) -> Screen:
    """The role of a new official."""
    text = "<b>{}</b>\n{}".format(_("A new official"), _("Which role will they have?"))
    rows = [[button(_(label), iv("ro", tag, role.value))] for role, label in ROLE_LABELS.items()]
    rows.append([button(_("◀️ Back"), iv("st", tag)), button(_("✖️ Cancel"), iv("x", tag))])
    return Screen(text, InlineKeyboardMarkup(rows))


def unit_choice(_: Gettext, tag: str, units: Sequence[Unit], page: int) -> Screen:
    """The unit of a new official, 8 per page."""
    page, page_count = _page_of(len(units), page)
    shown = units[page * PER_PAGE : (page + 1) * PER_PAGE]
    text = "<b>{}</b>\n{}".format(_("A new official"), _("Which unit do they work for?"))
    rows = [[button(u.name, iv("un", tag, u.key))] for u in shown]
    nav = _nav(page, page_count, lambda p: iv("up", tag, p))
    if nav:
        rows.append(nav)
    rows.append([button(_("◀️ Back"), iv("nw", tag)), button(_("✖️ Cancel"), iv("x", tag))])
    return Screen(text, InlineKeyboardMarkup(rows))


def coverage_select(
    _: Gettext,
    *,
    ns: str,
    tag: str,
    kind: Kind,
    selected: Sequence[str],
    directory: Directory,
    page: int,
    heading: str,
) -> Screen:
    """Multi-select of localities (``kind="l"``) or categories (``"c"``): toggles, 8 per page.

    Actions: ``<kind>t`` toggle, ``<kind>p`` page, ``<kind>a`` all (province-wide / all categories),
    ``<kind>d`` done, ``x`` cancel.
    """
    items: list[tuple[str, str]]
    if kind == "l":
        items = [(loc.code, loc.name) for loc in directory.localities]
        question = _("Which localities does this official cover? Tap to select or unselect.")
        everything = _("🌐 Province-wide (every locality)")
        chosen = localities_text(_, selected, directory) if selected else _("nothing yet")
    else:
        items = [(c.key, f"{c.emoji} {c.name(_.lang)}".strip()) for c in directory.categories]
        question = _("Which categories does this official handle? Tap to select or unselect.")
        everything = _("🗂 All categories")
        chosen = categories_text(_, selected, directory) if selected else _("nothing yet")
    page, page_count = _page_of(len(items), page)
    shown = items[page * PER_PAGE : (page + 1) * PER_PAGE]
    text = "<b>{}</b>\n{}\n\n{} {}".format(esc(heading), question, _("Selected:"), chosen)
    rows: list[list[InlineKeyboardButton]] = []
    pair: list[InlineKeyboardButton] = []
    for value, label in shown:
        mark = "☑️" if value in selected else "⬜"
        pair.append(button(f"{mark} {label}", callbacks.build(ns, f"{kind}t", tag, value, page)))
        if len(pair) == 2:
            rows.append(pair)
            pair = []
    if pair:
        rows.append(pair)
    nav = _nav(page, page_count, lambda p: callbacks.build(ns, f"{kind}p", tag, p))
    if nav:
        rows.append(nav)
    rows.append([button(everything, callbacks.build(ns, f"{kind}a", tag))])
    rows.append(
        [
            button(_("✅ Done"), callbacks.build(ns, f"{kind}d", tag)),
            button(_("✖️ Cancel"), callbacks.build(ns, "x", tag)),
        ]
    )
    return Screen(text, InlineKeyboardMarkup(rows))


def invite_summary(
    _: Gettext,
    draft: InviteDraft | Invite,
    official: Official | None,
    units: Mapping[str, Unit],
    directory: Directory,
) -> str:
    """Whom an invitation (or its draft) is for, in a few lines."""
    if official is not None:
        return "👤 <b>{}</b> ({})\n🏛 {}".format(
            esc(official.name), esc(official.title), esc(unit_name(units, official.unit))
        )
    role = _(ROLE_LABELS[draft.role]) if draft.role else "?"
    return "\n".join(
        [
            "👤 {} · {}".format(_("A new official"), role),
            "🏛 {}".format(esc(unit_name(units, draft.unit or ""))),
            "📍 {}".format(localities_text(_, draft.localities, directory)),
            "🗂 {}".format(categories_text(_, draft.categories, directory)),
        ]
    )


def invite_confirm(
    _: Gettext, draft: InviteDraft, official: Official | None, units: Mapping[str, Unit], directory: Directory
) -> Screen:
    """The last step: check, then create the link."""
    text = "<b>{}</b>\n\n{}\n\n{}".format(
        _("Create this invitation?"),
        invite_summary(_, draft, official, units, directory),
        _("The link works once and expires after 7 days."),
    )
    rows = [
        [button(_("🔗 Create the link"), iv("ok", draft.tag))],
        [button(_("◀️ Back"), iv("st", draft.tag)), button(_("✖️ Cancel"), iv("x", draft.tag))],
    ]
    return Screen(text, InlineKeyboardMarkup(rows))


def invite_link(bot_username: str, code: str) -> str:
    """The deep link that opens the bot with ``/start <code>``."""
    return f"https://t.me/{bot_username}?start={code}"


def invite_issued(
    _: Gettext,
    invite: Invite,
    link: str,
    official: Official | None,
    units: Mapping[str, Unit],
    directory: Directory,
) -> str:
    """The issued link with its expiry."""
    return "\n\n".join(
        [
            "✅ <b>{}</b>".format(_("Invitation link created")),
            invite_summary(_, invite, official, units, directory),
            esc(link),
            _(
                "It works only once and expires on {date}. Send it privately to the person: whoever "
                "opens it first becomes this official. You will be told when they join."
            ).format(date=local_time(invite.expires_at)),
        ]
    )


# --------------------------------------------------------------------------------------------- /officials


def status_label(_: Gettext, official: Official) -> str:
    """Active or not, linked or not."""
    active = _("✅ active") if official.is_active else _("⛔ inactive")
    linked = _("🔗 joined") if official.telegram_id is not None else _("⏳ not joined yet")
    return f"{active} · {linked}"


def officials_list(_: Gettext, officials: Sequence[Official], units: Mapping[str, Unit], page: int) -> Screen:
    """A page of the directory: name, unit, role, active or not, linked or not."""
    if not officials:
        return Screen(_("The directory has no officials yet."), None)
    page, page_count = _page_of(len(officials), page)
    shown = officials[page * PER_PAGE : (page + 1) * PER_PAGE]
    lines = ["👥 <b>{}</b> ({})".format(_("Officials"), len(officials)), ""]
    rows = []
    for index, official in enumerate(shown, start=page * PER_PAGE + 1):
        lines.append(
            "{}. <b>{}</b> — {}".format(index, esc(official.name), esc(unit_name(units, official.unit)))
        )
        lines.append("    {} · {}".format(_(ROLE_LABELS[official.role]), status_label(_, official)))
        mark = "👤" if official.is_active else "⛔"
        rows.append([button(f"{mark} {official.name}", of("v", official.id, page))])
    nav = _nav(page, page_count, lambda p: of("ls", p))
    if nav:
        rows.append(nav)
    return Screen("\n".join(lines), InlineKeyboardMarkup(rows))


def official_details(
    _: Gettext,
    official: Official,
    units: Mapping[str, Unit],
    supervisor: Official | None,
    directory: Directory,
    open_cases: int,
    page: int,
) -> Screen:
    """One official, with the buttons to deactivate/reactivate and change coverage."""
    lines = [
        "👤 <b>{}</b> ({})".format(esc(official.name), esc(official.title)),
        "🏛 {}".format(esc(unit_name(units, official.unit))),
        "🎖 {}".format(_(ROLE_LABELS[official.role])),
        status_label(_, official),
        "📍 {} {}".format(_("Localities:"), localities_text(_, official.localities, directory)),
        "🗂 {} {}".format(_("Categories:"), categories_text(_, official.categories, directory)),
        "📥 {} {}".format(_("Open cases:"), open_cases),
    ]
    if supervisor is not None:
        lines.append("⬆️ {} {}".format(_("Supervisor:"), esc(supervisor.name)))
    if official.is_fallback:
        lines.append("🛟 " + _("Fallback desk: receives every petition no one else covers."))
    if not official.is_active and open_cases:
        lines.append("⚠️ " + _("This official is inactive but still has open cases: transfer them."))
    toggle = (
        button(_("⛔ Deactivate"), of("de", official.id, page))
        if official.is_active
        else button(_("✅ Reactivate"), of("re", official.id, page))
    )
    rows = [
        [toggle],
        [button(_("📍 Change localities"), of("el", official.id))],
        [button(_("🗂 Change categories"), of("ec", official.id))],
        [button(_("◀️ Back to the list"), of("ls", page))],
    ]
    return Screen("\n".join(lines), InlineKeyboardMarkup(rows))
