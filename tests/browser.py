"""Headless Chromium for the browser tests (the report, the web app): Debian's /usr/bin/chromium
driven by Playwright, which then needs no browser download."""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")


def require_browser():
    """Playwright's sync API, or skip the calling test module with the reason."""
    api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (`pip install "
                                                            "playwright`; no `playwright install` needed)")
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is absent (Debian package chromium; scripts/install-system.sh installs it)",
                    allow_module_level=True)
    return api


def launch(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
