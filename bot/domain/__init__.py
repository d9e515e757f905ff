"""Pure domain logic of Tiếng Dân: no Telegram, no Redis, no I/O beyond reading data files."""
