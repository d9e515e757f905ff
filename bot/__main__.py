"""``python -m bot``."""

import sys

from bot.cli import main

if __name__ == "__main__":  # (not when a chart process imports this module: bot.charts)
    sys.exit(main())
