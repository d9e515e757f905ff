"""The sandbox page in a real browser (Debian's Chromium driven by Playwright): a citizen submits a petition
by typing and clicking the rendered buttons, the official accepts and resolves it, the citizen reads the
answer. Skipped when /usr/bin/chromium or playwright is missing (``.ci/run`` installs Chromium).

The screenshot is written to tests/artifacts/sandbox.png (the README's pictures come from docs/screenshots.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bot.i18n import Translator
from sandbox import Sandbox
from sandbox.personas import CITIZEN

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACT = ROOT / "tests" / "artifacts" / "sandbox.png"
TIMEOUT_MS = 20_000  # generous: the whole suite may be loading both cores

pytestmark = pytest.mark.e2e

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)
try:
    from playwright.async_api import Locator, Page, async_playwright, expect
except ImportError:  # pragma: no cover - depends on the environment
    pytest.skip("playwright is not installed (pip install -e '.[browser]')", allow_module_level=True)


async def say(chat: Locator, text: str) -> None:
    """Type into the chat's input and press Enter."""
    box = chat.locator("textarea.input")
    await box.fill(text)
    await box.press("Enter")


async def tap(chat: Locator, label: str) -> None:
    """Click the newest inline button labelled ``label`` (exactly, else containing it, like a person)."""
    containing = chat.locator(".kb-btn").filter(has_text=label)
    await expect(containing.last).to_be_visible(timeout=TIMEOUT_MS)
    exact = containing.filter(has_text=re.compile(rf"^{re.escape(label)}$"))
    await (exact.last if await exact.count() else containing.last).click(timeout=TIMEOUT_MS)


async def tap_reply(chat: Locator, label: str) -> None:
    """Click a reply-keyboard button."""
    await chat.locator(".rk-btn").filter(has_text=label).first.click(timeout=TIMEOUT_MS)


async def sees(chat: Locator, text: str) -> None:
    """Wait for a bot message containing ``text``."""
    await expect(chat.locator(".msg.in .text").filter(has_text=text).last).to_be_visible(timeout=TIMEOUT_MS)


async def test_petition_through_the_page(tmp_path: Path) -> None:
    _ = Translator()("vi")
    async with Sandbox(port=0, data_dir=tmp_path / "data") as sandbox, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page: Page = await browser.new_page(
                viewport={"width": 1500, "height": 940}, device_scale_factor=1, timezone_id="Asia/Ho_Chi_Minh"
            )
            errors: list[Any] = []
            page.on("pageerror", lambda error: errors.append(error))
            await page.goto(sandbox.url)
            citizen = page.locator('section.chat[data-who="citizen"]')
            official = page.locator('section.chat[data-who="official"]')
            admin = page.locator('section.chat[data-who="admin"]')
            await expect(page.locator("#live")).to_have_class(re.compile(r"\bon\b"), timeout=TIMEOUT_MS)
            await expect(citizen.locator(".empty-hint")).to_contain_text("/start")
            # The page speaks Vietnamese first: its header, the chats' titles, hints, placeholders, pop-ups.
            await expect(page.locator(".brand-sub")).to_contain_text("Bot thật")
            await expect(citizen.locator(".chat-head .title")).to_have_text("Người dân")
            await expect(citizen.locator(".empty-hint")).to_contain_text("Gửi /start")
            await expect(citizen.locator("textarea.input")).to_have_attribute("placeholder", "Tin nhắn")
            await expect(citizen.locator('.attach-menu [data-attach="document"]')).to_have_text(
                "📄 Tài liệu (PDF)"
            )
            await sees(official, _("📥 No open cases. Well done!"))  # the seeded /inbox
            # Who is chatting is never cut short (the official's line is the longest): it wraps instead.
            for chat in (citizen, official, admin):
                sub = chat.locator(".chat-head .sub")
                await expect(sub).to_contain_text("Tiếng Dân")
                assert await sub.evaluate("e => e.scrollWidth <= e.clientWidth"), await sub.inner_text()

            # The citizen: consent, then a petition with a photo and their phone number.
            await say(citizen, "/start")
            await tap(citizen, _("Handle my petitions"))
            await expect(citizen.locator(".kb-btn").filter(has_text="☑️").first).to_be_visible()
            await tap(citizen, _("✅ Continue"))
            await sees(citizen, _("✅ Thank you. Your choices are saved."))
            await tap_reply(citizen, _("📝 New petition"))
            await say(citizen, "thanh sen")
            await tap(citizen, "Phường Thành Sen")
            await tap(citizen, "Đất đai")
            await tap(citizen, _("Report a problem"))
            await say(
                citizen, "Hàng rào của một hộ dân lấn chiếm lối đi chung ở tổ dân phố 3 từ tháng trước."
            )
            await sees(citizen, _("Photos and files"))
            await citizen.locator(".photo-btn").click()
            await expect(citizen.locator(".msg.out img.photo")).to_be_visible(timeout=TIMEOUT_MS)
            await tap(citizen, _("✅ Done ({count} attached)").format(count=1))
            await tap_reply(citizen, _("📱 Share my phone number"))
            await expect(
                citizen.locator(".msg.out .file-size").filter(has_text="+84912345678")
            ).to_be_visible()
            await sees(citizen, _("Please check your petition"))
            # The quoted description is a block, as Telegram draws it: the line break after it starts the
            # next line (📎 …), it does not leave an empty one.
            summary = citizen.locator(".msg.in .text").filter(has_text=_("Please check your petition")).last
            after_quote = await summary.locator("blockquote").evaluate("q => q.nextSibling.textContent")
            assert after_quote.startswith("📎"), after_quote
            await tap(citizen, _("✅ Send"))
            receipt = citizen.locator(".msg.in .text").filter(has_text=re.compile(r"HT-\d{4}-\d{6}")).last
            await expect(receipt).to_be_visible(timeout=TIMEOUT_MS)
            found = re.search(r"HT-\d{4}-\d{6}", await receipt.inner_text())
            assert found is not None
            ticket = found.group(0)

            # The official: the case card (with the photo re-sent), accept, resolve with a saved answer.
            await sees(official, ticket)
            await expect(official.locator(".msg.in img.photo")).to_be_visible(timeout=TIMEOUT_MS)
            await tap(official, _("✅ Accept"))
            await sees(citizen, ticket)

            # The admin opens the command menu and lists every open case.
            await admin.locator(".menu-btn").click()
            await admin.locator(".commands-menu button").filter(has_text="/inbox").click()
            await expect(admin.locator(".msg.in .text").filter(has_text=ticket).last).to_be_visible(
                timeout=TIMEOUT_MS
            )

            await tap(official, _("✔️ Resolve"))
            await sees(official, _("Or pick a saved answer:"))
            await tap(official, "2")  # the unit's saved answer "Nội dung phản ánh đã được xử lý xong..."

            # The citizen reads the answer.
            answer = (
                citizen.locator(".msg.in .text").filter(has_text="Nội dung phản ánh đã được xử lý xong").last
            )
            await expect(answer).to_be_visible(timeout=TIMEOUT_MS)
            assert ticket in await answer.inner_text()
            # Formatting is rendered from the entities: the answer is a blockquote, the welcome is bold.
            await expect(answer.locator("blockquote")).to_contain_text("xử lý xong")
            await expect(citizen.locator(".msg.in .text b").first).to_contain_text("Tiếng Dân")
            assert not errors, errors
            assert not sandbox.emulator.rejections, sandbox.emulator.rejections

            ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
            await page.mouse.move(0, 0)
            # Show the official's case card with the citizen's photo (the page keeps the newest in view).
            await official.locator(".msg.in img.photo").last.evaluate(
                "img => { const list = img.closest('.messages'); const card = img.closest('.msg').previousElementSibling;"
                " list.scrollTop = card.offsetTop - list.offsetTop - 8; }"
            )
            await expect(page.locator(".toast:visible")).to_have_count(0, timeout=TIMEOUT_MS)
            await page.screenshot(path=str(ARTIFACT), animations="disabled")

            # A deleted message disappears; the language switch makes the bot answer in English.
            first = sandbox.emulator.messages(CITIZEN.telegram_id)[0]
            sandbox.emulator.api_deletemessage(
                {"chat_id": CITIZEN.telegram_id, "message_id": first.message_id}
            )
            await expect(citizen.locator(f'.msg[data-id="{first.message_id}"]')).to_have_count(0)
            await citizen.locator('.lang button[data-lang="en"]').click()
            await sees(citizen, Translator()("en")("What would you like to do?"))
            await expect(citizen.locator('.lang button[data-lang="en"]')).to_have_class(re.compile("active"))
            await expect(page.locator(".brand-sub")).to_contain_text("The real bot")  # the page follows
            await expect(citizen.locator(".chat-head .title")).to_have_text("Citizen")
            await expect(citizen.locator(".menu-btn")).to_have_attribute("title", "Commands")
            await expect(official.locator(".chat-head .title")).to_have_text("Cán bộ — Phường Thành Sen")

            # Reset: every chat starts over (the citizen's empty, the staff's with the seeded /inbox).
            await page.locator("#reset").click()
            await expect(citizen.locator(".empty-hint")).to_be_visible(timeout=TIMEOUT_MS)
            await expect(citizen.locator(".msg")).to_have_count(0)
            await expect(citizen.locator('.lang button[data-lang="vi"]')).to_have_class(re.compile("active"))
            await sees(official, _("📥 No open cases. Well done!"))
            await expect(official.locator(".msg").filter(has_text=ticket)).to_have_count(0)
            assert not errors, errors
        finally:
            await browser.close()
