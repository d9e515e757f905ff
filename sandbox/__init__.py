"""The sandbox: the whole bot in a browser, with no Telegram token and no Redis installation.

``python -m bot sandbox`` starts, all on 127.0.0.1, an embedded ``redis-server``, the Bot API emulator
(:mod:`emulator`), the real bot polling it over HTTP, and a web page that looks like Telegram with three
chats side by side: a citizen, the official of a demo ward and an admin.
"""

from .personas import PERSONAS, Persona
from .runner import Sandbox, run

__all__ = ["PERSONAS", "Persona", "Sandbox", "run"]
