"""The web app end to end in headless Chromium against a real `cinestage serve` (API, web app and
a local worker on SQLite): sign up, upload a real clip, run a short shoot, watch its progress,
and see the result page with every camera, the chosen one, the programme, highlights, the
report and the downloads; at desktop and phone width, with screenshots kept to look at
(CINESTAGE_SCREENSHOTS=DIR keeps copies there)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from browser import launch, require_browser
from service_support import free_port

sync_api = require_browser()
CLIP = Path(__file__).resolve().parents[3] / "shared" / "data" / "videos" / "mmaction2_test_video_structuralize.mp4"
if not CLIP.is_file():
    pytest.skip(f"{CLIP} is absent: the web test uploads a real two-person clip from ../shared/data",
                allow_module_level=True)
SHOOT_TIMEOUT_S = 900


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("serve")
    port = free_port()
    env = {**os.environ, "CINESTAGE_EXECUTOR": "serial", "OMP_NUM_THREADS": "1"}
    log = open(data / "serve.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "cinestage", "serve", "--port", str(port), "--data-dir", str(data)],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if httpx.get(base + "/", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        else:
            pytest.fail(f"cinestage serve did not answer: {(data / 'serve.log').read_text()[-2000:]}")
        yield base, data
    finally:
        proc.terminate()
        proc.wait(timeout=90)
        log.close()


def _shots_dir(tmp_path_factory) -> Path:
    keep = os.environ.get("CINESTAGE_SCREENSHOTS")
    return Path(keep) if keep else tmp_path_factory.mktemp("web-screenshots")


def test_sign_up_upload_shoot_and_see_the_result(server, tmp_path_factory):
    base, data = server
    shots = _shots_dir(tmp_path_factory)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(base + "/")
            page.fill("#signup-form input[name=name]", "Ada")
            page.click("#signup-form button[type=submit]")
            token = page.input_value("#new-token")
            assert len(token) > 20
            page.click("#continue")
            page.wait_for_selector("#shoot-form")
            assert page.inner_text("#who") == "Ada"

            page.set_input_files("#shoot-form input[name=clip]", str(CLIP))
            for name, value in (("duration", "4"), ("width", "192"), ("height", "108")):
                page.fill(f"#shoot-form input[name={name}]", value)
            page.screenshot(path=str(shots / "web-new-shoot.png"), full_page=True)
            page.click("#start")
            page.wait_for_url("**/#/task/*", timeout=60_000)
            page.wait_for_selector("#task-progress")
            page.wait_for_selector("#result:not([hidden])", timeout=SHOOT_TIMEOUT_S * 1000)
            assert "done" in page.inner_text("#task-status")
            assert page.eval_on_selector("#task-progress", "p => p.value") == 100

            cameras = page.eval_on_selector_all("#camera-grid article h3 span:first-child", "s => s.map(x => x.textContent)")
            assert {"wide", "two-shot", "orbit"} <= set(cameras)
            assert any(c.startswith("learned-shot") for c in cameras), cameras
            best = page.inner_text("#camera-grid article.best h3 span:first-child")
            assert page.inner_text("#chosen-reason").startswith(best + ":")
            # Media load through the same-site cookie (a <video> cannot send the token header).
            page.wait_for_function("document.querySelector('#best-video').readyState >= 1", timeout=30_000)
            page.wait_for_function("document.querySelector('#programme-video').readyState >= 1", timeout=30_000)
            gifs = page.eval_on_selector_all("#gif-grid img", "all => all.map(i => [i.complete, i.naturalWidth])")
            assert gifs and all(ok and w > 0 for ok, w in gifs)
            files = page.eval_on_selector_all("#downloads li a", "all => all.map(a => a.textContent)")
            assert {"best.mp4", "programme.mp4", "report.html", "result.json", "scores.json"} <= set(files)
            assert any(f.endswith(".track.gltf") for f in files)
            page.screenshot(path=str(shots / "web-result-desktop.png"), full_page=True)

            report = page.get_attribute("#report-link", "href")
            response = page.request.get(base + report)
            assert response.status == 200 and b"Camera tracks from above" in response.body()

            page.set_viewport_size({"width": 390, "height": 844})
            page.reload()
            page.wait_for_selector("#result:not([hidden])")
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the result page scrolls sideways"
            page.screenshot(path=str(shots / "web-result-phone.png"), full_page=True)

            page.click("text=all shoots")
            page.wait_for_selector("#task-rows tr td.status-2")
            page.screenshot(path=str(shots / "web-home-phone.png"), full_page=True)
        finally:
            browser.close()
    for name in ("web-new-shoot.png", "web-result-desktop.png", "web-result-phone.png", "web-home-phone.png"):
        assert (shots / name).stat().st_size > 10_000, name


def test_a_wrong_token_is_refused_and_the_user_stays_signed_out(server):
    base, _ = server
    with sync_api.sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page()
            page.goto(base + "/#/signin")
            page.click("summary")
            page.fill("#token-form input[name=token]", "not-a-token")
            page.click("#token-form button[type=submit]")
            page.wait_for_function("document.querySelector('#signin-error').textContent.length > 0")
            assert "token" in page.inner_text("#signin-error").lower()
            assert page.evaluate("localStorage.getItem('cinestage.token')") is None
        finally:
            browser.close()

