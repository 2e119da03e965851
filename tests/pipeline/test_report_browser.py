"""report.html in headless Chromium at desktop and phone width: every section shows, every image
decodes, the page never scrolls sideways, and full-page screenshots are kept to look at."""

from __future__ import annotations

import json
import pytest
from browser import launch, require_browser

from cinestage.pipeline.report import REPORT
from cinestage.pipeline.report_html import SECTIONS

sync_api = require_browser()


@pytest.mark.parametrize("device, width", [("desktop", 1280), ("phone", 390)])
def test_every_section_shows_and_every_image_loads(delivered, tmp_path_factory, device, width):
    shots = tmp_path_factory.mktemp("report-screenshots")
    with sync_api.sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto((delivered / REPORT).as_uri(), wait_until="load")
            present = page.eval_on_selector_all("section", "all => all.map(s => s.id)")
            assert present == [s for s in SECTIONS if s != "styles"]
            for sid in present:
                heading = page.locator(f"#{sid} > h2")
                assert heading.is_visible() and heading.inner_text() == SECTIONS[sid], sid
                box = page.locator(f"#{sid}").bounding_box()
                assert box["width"] > 0.8 * min(width, 1180) - 40 and box["height"] > 40, (sid, box)
            images = page.evaluate("Array.from(document.images, i => [i.alt, i.complete, i.naturalWidth])")
            assert len(images) >= 8
            for alt, complete, natural in images:
                assert complete and natural > 0, f"image {alt!r} did not decode"
            assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"
            path = shots / f"report-{device}.png"
            page.screenshot(path=str(path), full_page=True)
        finally:
            browser.close()
    assert path.stat().st_size > 50_000
    print(json.dumps({"screenshot": str(path)}))
