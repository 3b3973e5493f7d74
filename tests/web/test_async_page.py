"""The page in front of an asynchronous endpoint: the function answers 202 with an
inference_id, and the page asks GET /classify/{id} until the answer is there. Everything is
real: the page server's routes run the Lambda handler, whose S3 and InvokeEndpointAsync calls
reach the emulator, whose local mode serves the queue with the model."""

from __future__ import annotations

import pytest

from local_stack.emulator import client
from local_stack.serving.lambda_runtime import import_handler
from local_stack.serving.page import WebServer
from tests.async_endpoints import asynchronous_endpoint, function_settings
from tests.images import sample_image
from tests.web.test_page import breeds, open_page

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_the_page_polls_until_the_queued_answer_is_there(
    page, emulator, local_mode, five_breeds, five_breeds_archive
):
    name = asynchronous_endpoint(emulator, "page-async", five_breeds_archive)
    handler = import_handler(
        {**function_settings(name), "MODEL_VERSION": "local", "LOG_LEVEL": "WARNING"}
    )
    with WebServer(handler) as web:
        open_page(page, web.url)
        page.set_input_files("#photo", str(sample_image(five_breeds, "004.Akita")))
        page.wait_for_selector("#status:has-text('Queued')")
        # The model loads on the first request: minutes at most on a slow machine.
        page.wait_for_selector(".breeds li:nth-child(5)", timeout=240_000)
    assert breeds(page)[0] == "Akita"
    assert page.locator("#status").inner_text() == "Top 5 breeds"
    queued = client("s3", emulator).list_objects_v2(Bucket=name, Prefix="async/out/")
    assert queued["KeyCount"] == 1
