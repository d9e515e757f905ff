"""gettext catalogs (``<lang>/LC_MESSAGES/messages.po`` and compiled ``.mo``), managed with Babel."""
