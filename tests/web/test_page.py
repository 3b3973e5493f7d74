"""web/ in headless Chromium, against the local stack: the page, POST /classify through the
real Lambda handler, the local endpoint on the real serving stack."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.client_requests import HEIC_HEADER, PDF
from tests.images import sample_image
from tests.photos import Photo, corpus
from tests.training import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCREENSHOT = REPO_ROOT / "build" / "web-result.png"


def open_page(page, url: str) -> None:
    """Open the page and wait until it answers input: a file set before its handlers are
    attached (while config.json is still on its way) would be lost."""
    page.goto(url)
    page.wait_for_selector("body[data-ready]")


def breeds(page) -> list[str]:
    return page.locator(".breeds .breed-name span:first-child").all_inner_texts()


def test_a_photo_gets_its_breed_and_five_bars(page, site, five_breeds):
    open_page(page, site)
    photo = sample_image(five_breeds, "004.Akita")
    page.set_input_files("#photo", str(photo))
    page.wait_for_selector(".breeds li:nth-child(5)")
    assert breeds(page)[0] == "Akita"
    bars = page.locator(".breeds [role=progressbar]")
    assert bars.count() == 5
    assert float(bars.first.get_attribute("aria-valuenow")) > 50
    assert page.locator("#status").inner_text() == "Top 5 breeds"
    assert page.locator("#preview").get_attribute("alt") == f"Your photo: {photo.name}"
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)


def test_a_text_file_named_jpg_shows_the_apis_error(page, site, tmp_path):
    fake = tmp_path / "dog.jpg"
    fake.write_text("this is not a photo")
    open_page(page, site)
    page.set_input_files("#photo", str(fake))
    status = page.locator("#status.error")
    status.wait_for()
    # the Lambda's 415 message
    assert status.inner_text() == (
        "image is not in a format the classifier reads: send a JPEG, PNG, WebP or AVIF photo"
    )
    assert page.locator(".breeds li").count() == 0
    assert page.locator("#preview-box").is_hidden()  # no broken-image icon


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("report.pdf", PDF, "unsupported content type 'application/pdf': send the photo's bytes"),
        ("IMG_0001.HEIC", HEIC_HEADER, "is a HEIC/HEIF photo"),
    ],
)
def test_a_file_the_browser_cannot_decode_gets_the_apis_415(
    page, site, tmp_path, name, content, message
):
    document = tmp_path / name
    document.write_bytes(content)
    open_page(page, site)
    page.set_input_files("#photo", str(document))
    status = page.locator("#status.error")
    status.wait_for()
    assert message in status.inner_text()


@pytest.fixture(scope="module")
def photos(five_breeds) -> dict[str, Photo]:
    with Image.open(sample_image(five_breeds, "004.Akita")) as small:
        picture = small.convert("RGB").resize((640, 480), Image.Resampling.BICUBIC)
    return {photo.name: photo for photo in corpus(picture)}


EXTENSIONS = {"image/png": ".png", "image/webp": ".webp", "image/avif": ".avif"}
PHOTO_NAMES = [photo.name for photo in corpus(Image.new("RGB", (64, 48)))]


def top_breed(page, site: str, path: Path) -> str:
    open_page(page, site)
    page.set_input_files("#photo", str(path))
    page.wait_for_selector(".breeds li")
    return breeds(page)[0]


@pytest.mark.parametrize("name", PHOTO_NAMES)
def test_every_form_of_a_photo_is_classified_like_its_twin_through_the_page(
    page, site, photos, tmp_path, name
):
    """The browser decodes and shrinks the photo (the page's path, not the endpoint's): any
    form a phone or camera writes reaches the classifier as the picture a person sees."""
    photo = photos[name]
    sent = tmp_path / f"photo{EXTENSIONS.get(photo.content_type, '.jpg')}"
    sent.write_bytes(photo.data)
    twin = tmp_path / "twin.png"
    twin.write_bytes(photo.twin)
    assert top_breed(page, site, sent) == top_breed(page, site, twin)


def test_a_12_megapixel_photo_is_shrunk_before_upload(page, site, tmp_path):
    noise = np.random.default_rng(0).integers(0, 255, (3000, 4000, 3), dtype=np.uint8)
    big = tmp_path / "phone.jpg"
    Image.fromarray(noise).save(big, quality=92)
    assert big.stat().st_size > 4_000_000
    open_page(page, site)
    # Decoding and shrinking 12 megapixels is the slowest thing the page does: on a loaded
    # 2-core machine it can pass Playwright's default 30 s wait.
    with page.expect_request("**/classify", timeout=120_000) as sent:
        page.set_input_files("#photo", str(big))
    body = sent.value.post_data_buffer
    assert len(body) < 400_000
    with Image.open(io.BytesIO(body)) as uploaded:
        assert uploaded.format == "JPEG"
        assert max(uploaded.size) == 512
    page.wait_for_selector(".breeds li")


def test_the_api_url_is_a_setting_and_its_error_message_is_shown(page, site, five_breeds):
    elsewhere = "https://api.example.com/classify"
    page.route(
        elsewhere,
        lambda route: route.fulfill(
            status=503,
            json={"error": {"code": "warming_up", "message": "the model is warming up"}},
            headers={"Access-Control-Allow-Origin": "*"},
        ),
    )
    open_page(page, f"{site}?api={elsewhere}")
    with page.expect_request(elsewhere):
        page.set_input_files("#photo", str(sample_image(five_breeds, "001.Affenpinscher")))
    page.locator("#status.error").wait_for()
    assert page.locator("#status").inner_text() == "the model is warming up"


def test_an_answer_without_a_json_body_shows_its_status(page, site, five_breeds):
    page.route("**/classify", lambda route: route.fulfill(status=502, body="<html>bad gateway"))
    open_page(page, site)
    page.set_input_files("#photo", str(sample_image(five_breeds, "001.Affenpinscher")))
    page.locator("#status.error").wait_for()
    assert page.locator("#status").inner_text() == "HTTP 502"


def test_the_page_is_accessible_and_fits_a_phone(browser, site):
    context = browser.new_context(viewport={"width": 375, "height": 700})
    phone = context.new_page()
    try:
        phone.goto(site)
        assert phone.locator("label[for=photo]").count() == 1
        assert phone.locator("#result[aria-live=polite]").count() == 1
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"the page is {width} px wide on a 375 px screen"
        phone.keyboard.press("Tab")
        focused = phone.evaluate("document.activeElement.id || document.activeElement.tagName")
        assert focused in ("drop", "photo")
    finally:
        context.close()


def test_no_configured_api_says_how_to_set_one(browser, tmp_path):
    """The page opened from disk, without ?api= or config.json."""
    context = browser.new_context()
    opened = context.new_page()
    try:
        opened.goto(Path(REPO_ROOT / "web" / "index.html").as_uri())
        message = opened.locator("#config-error")
        message.wait_for()
        assert "No API URL: open this page with ?api=" in message.inner_text()
        assert opened.locator("#photo").is_disabled()
    finally:
        context.close()


def test_the_keyboard_opens_the_picker(page, site):
    """Tab to the drop zone, then Enter or Space: the picker opens as on a click (the file
    input's click is recorded rather than a system dialog awaited)."""
    open_page(page, site)
    page.evaluate(
        "window.opened = []; document.getElementById('photo').click = () => {"
        " const key = window.event && window.event.type === 'keydown' && window.event.key;"
        " if (key) window.opened.push(key); }"
    )
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "drop"
    page.keyboard.press("Enter")
    page.keyboard.press(" ")
    assert page.evaluate("window.opened") == ["Enter", " "]
