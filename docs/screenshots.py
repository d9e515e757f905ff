"""Take the README's screenshots from the sandbox page: Debian's Chromium driven by Playwright.

    PYTHONPATH=. .venv/bin/python docs/screenshots.py [--out docs]

A citizen files a petition in Vietnamese (consent, a place typed by name with its matches paged and the
2025 merges explained, topic, the text typed at the menu kept as the description, summary, receipt with
its deadlines); the official accepts it and resolves it; the admin asks for the statistics and prepares an
announcement; then the citizen switches to English. Writes sandbox.png (the whole page), citizen-start.png,
citizen-receipt.png, official.png, admin.png and english.png, each with a palette of 256 colours (small
files; screens of text lose nothing visible). The times and dates are the machine's clock, in Vietnam.
Needs /usr/bin/chromium (apt-get install chromium) and playwright (pip install -e '.[browser]').
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
from pathlib import Path

from PIL import Image
from playwright.async_api import Locator, Page, async_playwright, expect

from sandbox import Sandbox

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 20_000
GAP = 16  # pixels between the panels of one picture
BACKGROUND = (223, 229, 236)  # the page's --bg


async def say(chat: Locator, text: str) -> None:
    box = chat.locator("textarea.input")
    await box.fill(text)
    await box.press("Enter")


async def tap(chat: Locator, label: str) -> None:
    """Click the newest inline button labelled ``label`` (exactly, else containing it)."""
    containing = chat.locator(".kb-btn").filter(has_text=label)
    await expect(containing.last).to_be_visible(timeout=TIMEOUT_MS)
    exact = containing.filter(has_text=re.compile(rf"^{re.escape(label)}$"))
    await (exact.last if await exact.count() else containing.last).click(timeout=TIMEOUT_MS)


async def sees(chat: Locator, text: str) -> Locator:
    """Wait for a bot message containing ``text``; returns its bubble's message element."""
    found = chat.locator(".msg.in").filter(has=chat.page.locator(".text", has_text=text)).last
    await expect(found).to_be_visible(timeout=TIMEOUT_MS)
    return found


async def settle(page: Page) -> None:
    """Let the last edits arrive and the pop-in animations end."""
    await page.wait_for_timeout(900)
    await page.mouse.move(0, 0)
    await expect(page.locator(".toast:visible")).to_have_count(0, timeout=TIMEOUT_MS)


async def show_from(message: Locator) -> None:
    """Scroll the message's chat so that ``message`` is at the top."""
    await message.evaluate(
        "m => { const list = m.closest('.messages'); list.scrollTop = m.offsetTop - list.offsetTop - 6; }"
    )


async def panel(chat: Locator, top: Locator | None, path: Path) -> Path:
    """A picture of one chat, scrolled so that ``top`` is its first message (else at the newest). What the
    chat shows above ``top`` (when it cannot scroll that far) and the empty space under the newest message
    are cut out, so the picture starts and ends where it should."""
    await settle(chat.page)
    if top is not None:
        await show_from(top)
    else:
        await chat.locator(".messages").evaluate("l => { l.scrollTop = l.scrollHeight; }")
    await chat.page.wait_for_timeout(200)
    await chat.screenshot(path=str(path), animations="disabled")
    box = await chat.bounding_box()
    assert box is not None
    # The messages area, its first row to keep and the bottom of the last message shown, in page pixels.
    area = await chat.locator(".messages").evaluate(
        "(l, first) => { const r = l.getBoundingClientRect();"
        " const shown = [...l.children].map(c => c.getBoundingClientRect()).filter(c => c.top < r.bottom);"
        " return [r.top, r.bottom, first === null ? r.top : first.getBoundingClientRect().top,"
        " Math.max(r.top, ...shown.map(c => c.bottom))]; }",
        await top.element_handle() if top is not None else None,
    )
    head, foot = round(area[0] - box["y"]), round(area[1] - box["y"])
    keep_from = max(head, round(area[2] - box["y"]) - 3)
    keep_to = min(foot, round(area[3] - box["y"]) + 10)
    if keep_from > head or keep_to < foot:
        image = Image.open(path)
        parts = [(0, head), (keep_from, keep_to), (foot, image.height)]
        cut = Image.new(image.mode, (image.width, sum(b - a for a, b in parts)))
        y = 0
        for a, b in parts:
            cut.paste(image.crop((0, a, image.width, b)), (0, y))
            y += b - a
        cut.save(path)
    return path


def side_by_side(parts: list[Path], out: Path) -> None:
    images = [Image.open(p).convert("RGB") for p in parts]
    width = sum(i.width for i in images) + GAP * (len(images) + 1)
    height = max(i.height for i in images) + 2 * GAP
    sheet = Image.new("RGB", (width, height), BACKGROUND)
    x = GAP
    for image in images:
        sheet.paste(image, (x, GAP))
        x += image.width + GAP
    save_small(sheet, out)


def save_small(image: Image.Image, out: Path) -> None:
    """Save with a palette of 256 colours (screens of text and flat colours lose nothing visible)."""
    small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE)
    small.save(out, optimize=True)
    print(f"{out}: {image.width}x{image.height}, {out.stat().st_size // 1024} KB")


async def main(out: Path) -> None:
    work = Path(tempfile.mkdtemp(prefix="tiengdan-shots-"))
    async with Sandbox(port=0, data_dir=work / "data") as sandbox, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page(
                viewport={"width": 1500, "height": 1580},
                device_scale_factor=1,
                timezone_id="Asia/Ho_Chi_Minh",
            )
            await page.goto(sandbox.url)
            citizen = page.locator('section.chat[data-who="citizen"]')
            official = page.locator('section.chat[data-who="official"]')
            admin = page.locator('section.chat[data-who="admin"]')
            await expect(page.locator("#live")).to_have_class(re.compile(r"\bon\b"), timeout=TIMEOUT_MS)
            await sees(official, "Không có phản ánh nào")

            # The citizen: welcome and consent (one purpose ticked, nothing pre-selected).
            await say(citizen, "/start")
            await tap(citizen, "Xử lý phản ánh của tôi")
            await expect(citizen.locator(".kb-btn").filter(has_text="☑️").first).to_be_visible()
            consent = await panel(citizen, citizen.locator(".msg").first, work / "c1.png")
            await tap(citizen, "Tiếp tục")
            await sees(citizen, "Lựa chọn của bạn đã được lưu")

            # Text typed at the menu starts a petition with it; a place typed by name: paged matches with
            # the abolished districts explained, then a former ward and what it became.
            typed = await citizen.locator(".msg").count()
            await say(citizen, "Đường vào tổ dân phố 5 ngập sâu mỗi khi mưa lớn, xe máy không đi qua được")
            await sees(citizen, "Bước 1/6")
            await say(citizen, "ky anh")
            await sees(citizen, "11 kết quả, trang 1/2")
            await say(citizen, "bac ha")
            await sees(citizen, "Phường Bắc Hà cũ nay thuộc Phường Thành Sen")
            place = await panel(citizen, citizen.locator(".msg").nth(typed), work / "c2.png")

            # Topic (urgent ones first), kind, the kept text, a photo, the phone number, the summary.
            await tap(citizen, "Phường Thành Sen")
            topic_prompt = await sees(citizen, "Bước 2/6")
            topic = await panel(citizen, topic_prompt, work / "c3.png")
            await tap(citizen, "Giao thông")
            await tap(citizen, "Phản ánh sự việc")
            await tap(citizen, "Giữ nguyên nội dung này")
            await sees(citizen, "Bước 5/6")
            await citizen.locator(".photo-btn").click()
            await expect(citizen.locator(".msg.out img.photo")).to_be_visible(timeout=TIMEOUT_MS)
            await tap(citizen, "Xong")
            await citizen.locator(".rk-btn").filter(has_text="Chia sẻ").first.click(timeout=TIMEOUT_MS)
            summary = await sees(citizen, "Vui lòng kiểm tra lại phản ánh")
            await tap(citizen, "Gửi")
            receipt = await sees(citizen, "Phản ánh của bạn đã được gửi")
            ticket_match = re.search(r"HT-\d{4}-\d{6}", await receipt.inner_text())
            assert ticket_match is not None
            ticket = ticket_match.group(0)
            await sees(citizen, "Bạn có muốn nhận thông báo")
            sent = await panel(citizen, summary, work / "c4.png")
            side_by_side([consent, place], out / "citizen-start.png")
            side_by_side([topic, sent], out / "citizen-receipt.png")

            # The official: the case card with its buttons; Accept edits it and opens the next steps.
            card = await sees(official, ticket)
            await expect(official.locator(".msg.in img.photo")).to_be_visible(timeout=TIMEOUT_MS)
            new_card = await panel(official, card, work / "o1.png")
            await tap(official, "Tiếp nhận")
            accepted = await sees(official, "Người dân đã được thông báo")
            await settle(page)
            after_accept = await panel(official, accepted, work / "o2.png")
            side_by_side([new_card, after_accept], out / "official.png")

            # Resolved with a saved answer; the citizen subscribes to the ward's announcements.
            await tap(official, "Giải quyết xong")
            await sees(official, "Hoặc chọn một mẫu trả lời")
            await tap(official, "2")
            await sees(citizen, "Nội dung phản ánh đã được xử lý xong")
            await tap(citizen, "Có, đăng ký")
            await tap(citizen, "Tôi đồng ý")  # announcements are a consent of their own
            await sees(citizen, "Đã đăng ký nhận thông báo")

            # The admin: statistics in plain words, then an announcement up to its confirmation.
            first_admin = await admin.locator(".msg").count()
            await say(admin, "/stats")
            await tap(admin, "Tháng này")
            await expect(admin.locator(".msg.in img.photo")).to_be_visible(timeout=TIMEOUT_MS)
            stats = await panel(admin, admin.locator(".msg").nth(first_admin), work / "a1.png")
            first_broadcast = await admin.locator(".msg").count()
            await say(admin, "/broadcast")
            await tap(admin, "Tất cả người đăng ký")
            await say(
                admin,
                "Lịch tiếp công dân tháng 12: Chủ tịch UBND phường Thành Sen tiếp công dân vào sáng thứ Năm, "
                "18/12/2026, tại trụ sở UBND phường.",
            )
            await sees(admin, "Gửi thông báo này?")
            broadcast = await panel(admin, admin.locator(".msg").nth(first_broadcast), work / "a2.png")
            side_by_side([stats, broadcast], out / "admin.png")

            # The whole page, in Vietnamese: the receipt, the accepted case, the announcement to confirm.
            await settle(page)
            await page.set_viewport_size({"width": 1500, "height": 940})
            await show_from(receipt)
            await show_from(accepted)
            await show_from(await sees(admin, "Xem trước"))
            await page.wait_for_timeout(300)
            whole = work / "page.png"
            await page.screenshot(path=str(whole), animations="disabled")
            save_small(Image.open(whole), out / "sandbox.png")

            # The citizen switches to English: their chat and the page's header follow; /my in English.
            await citizen.locator('.lang button[data-lang="en"]').click()
            await sees(citizen, "What would you like to do?")
            await citizen.locator(".rk-btn").filter(has_text="My petitions").first.click(timeout=TIMEOUT_MS)
            await sees(citizen, ticket)
            await tap(citizen, ticket)
            await sees(citizen, "Resolved")
            await settle(page)
            await page.screenshot(path=str(whole), animations="disabled")
            save_small(Image.open(whole), out / "english.png")
            assert not sandbox.emulator.rejections, sandbox.emulator.rejections
        finally:
            await browser.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    arguments = parser.parse_args()
    arguments.out.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(arguments.out))
