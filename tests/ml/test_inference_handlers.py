"""ml/inference.py handlers, called in-process as the serving toolkit calls them."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import pytest
import torch
from PIL import Image
from sagemaker_inference.errors import GenericInferenceToolkitError

from ml import data, images, inference
from tests.images import b64, encode, sample_image
from tests.toolkit import serve

pytestmark = pytest.mark.unit

AIREDALE = "003.Airedale_terrier"


@pytest.fixture(scope="module")
def loaded(trained_model) -> inference.LoadedModel:
    return inference.model_fn(str(trained_model.model_dir))


@pytest.fixture(scope="module")
def airedale_jpeg(sample_dataset: Path) -> bytes:
    return sample_image(sample_dataset, AIREDALE).read_bytes()


def predict(loaded, body, content_type: str, accept: str = "application/json") -> dict:
    request = inference.input_fn(body, content_type)
    response, response_type = inference.output_fn(inference.predict_fn(request, loaded), accept)
    assert response_type == "application/json"
    return json.loads(response)


def status_of(call) -> tuple[int, str]:
    with pytest.raises(GenericInferenceToolkitError) as raised:
        call()
    return raised.value.status_code, raised.value.message


def test_model_fn_loads_weights_and_classes_without_downloading(loaded, monkeypatch):
    assert loaded.class_names == ["Affenpinscher", "Afghan hound", "Airedale terrier", "Akita"]
    assert not loaded.model.training
    assert loaded.model.fc.out_features == 4


@pytest.mark.parametrize(
    "content_type", ["image/jpeg", "application/x-image", "image/jpeg; charset=binary"]
)
def test_jpeg_bytes(loaded, airedale_jpeg, content_type):
    result = predict(loaded, airedale_jpeg, content_type)
    top = result["predictions"][0]
    assert top == {"breed": "Airedale terrier", "index": 2, "probability": top["probability"]}
    assert top["probability"] > 0.5
    assert len(result["predictions"]) == 4  # top_k 5, clamped to the 4 classes
    assert "logits" not in result


def test_png_bytes(loaded, sample_dataset):
    png = encode(sample_image(sample_dataset, AIREDALE), "PNG")
    assert predict(loaded, png, "image/png")["predictions"][0]["breed"] == "Airedale terrier"


def test_json_base64_with_top_k_and_logits(loaded, airedale_jpeg):
    body = json.dumps({"image": b64(airedale_jpeg), "top_k": 2, "include_logits": True})
    result = predict(loaded, body, "application/json")
    assert [p["breed"] for p in result["predictions"]][:1] == ["Airedale terrier"]
    assert len(result["predictions"]) == 2
    assert len(result["logits"]) == 4
    probabilities = torch.tensor(result["logits"]).softmax(0)
    assert probabilities[2].item() == pytest.approx(
        result["predictions"][0]["probability"], abs=1e-4
    )


def test_json_batch(loaded, sample_dataset):
    images = [
        sample_image(sample_dataset, folder).read_bytes()
        for folder in ("001.Affenpinscher", AIREDALE)
    ]
    body = json.dumps({"images": [b64(image) for image in images], "top_k": 1})
    results = predict(loaded, body, "application/json")["results"]
    assert [r["predictions"][0]["breed"] for r in results] == ["Affenpinscher", "Airedale terrier"]


def test_preprocessing_is_the_training_eval_transform(loaded, sample_dataset):
    """One shared function: what the endpoint feeds the model equals what evaluate() saw."""
    assert inference.eval_transform is data.eval_transform
    path = sample_image(sample_dataset, AIREDALE)
    expected = data.eval_transform(32)(data.load_rgb(path))
    served = loaded.transform(inference.decode_image(path.read_bytes(), "test image"))
    assert torch.equal(expected, served)


def png_of_size(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        (b"hello", "text/plain", 415, "unsupported content type 'text/plain'"),
        (b"a=b", "application/x-www-form-urlencoded", 415, "an HTML form cannot carry the image"),
        (b"hello", "", 400, "not valid JSON"),
        (b"not an image", "image/jpeg", 415, "send a JPEG, PNG, WebP or AVIF photo"),
        (b"%PDF-1.7\n", "application/octet-stream", 415, "not in a format this endpoint reads"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "image/jpeg", 400, "image"),
        (b"\x00" * (images.MAX_IMAGE_BYTES + 1), "image/png", 413, "the limit is"),
        (png_of_size(9000, 6000), "image/png", 413, "9000x6000 pixels: send a smaller copy"),
        (b"{not json", "application/json", 400, "not valid JSON"),
        (b"\xff\xfe", "application/json", 400, "not valid UTF-8 at byte 0"),
        (b'{"image": "\xe9"}', "application/json", 400, "not valid UTF-8 at byte 11"),
        (b"{}", "application/json; charset=klingon", 415, "unknown charset 'klingon'"),
        (b"[1, 2]", "application/json", 400, "must be an object"),
        (b"{}", "application/json", 400, "exactly one of image, images, s3_uri"),
        (b'{"image": "x", "s3_uri": "s3://b/k"}', "application/json", 400, "exactly one of"),
        (b'{"image": 42}', "application/json", 400, "image must be a non-empty base64 string"),
        (b'{"image": "@@@not base64"}', "application/json", 400, "image is not valid base64"),
        (
            b'{"image": "aGVsbG8="}',
            "application/json",
            415,
            "image is not in a format this endpoint",
        ),
        (b'{"image": "data:text/plain,hello"}', "application/json", 400, "without ;base64"),
        (b'{"images": []}', "application/json", 400, "non-empty list"),
        (b'{"images": "abc"}', "application/json", 400, "non-empty list"),
        (
            json.dumps({"images": ["aGVsbG8="] * 33}).encode(),
            "application/json",
            413,
            "33 images in one request",
        ),
        (
            b'{"images": ["aGVsbG8="]}',
            "application/json",
            415,
            "images[0] is not in a format this endpoint reads",
        ),
        (
            b'{"s3_uri": "https://example.com/dog.jpg"}',
            "application/json",
            400,
            "s3_uri must look like s3://bucket/key",
        ),
        (b'{"s3_uri": "s3://bucket-only"}', "application/json", 400, "s3://bucket/key"),
        (b'{"s3_uri": "s3://bucket/\\ud800.jpg"}', "application/json", 400, "not valid Unicode"),
    ],
)
def test_bad_requests_get_a_4xx_naming_the_problem(body, content_type, status, message):
    got_status, got_message = status_of(lambda: inference.input_fn(body, content_type))
    assert got_status == status
    assert message in got_message


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"top_k": 0}, "top_k must be a positive integer"),
        ({"top_k": "3"}, "top_k must be a positive integer"),
        ({"top_k": True}, "top_k must be a positive integer"),
        ({"include_logits": "yes"}, "include_logits must be true or false"),
    ],
)
def test_bad_options_are_rejected(airedale_jpeg, options, message):
    body = json.dumps({"image": b64(airedale_jpeg), **options})
    status, got = status_of(lambda: inference.input_fn(body, "application/json"))
    assert status == 400
    assert message in got


def test_unsupported_accept_is_406(loaded, airedale_jpeg):
    prediction = inference.predict_fn(inference.input_fn(airedale_jpeg, "image/jpeg"), loaded)
    status, message = status_of(lambda: inference.output_fn(prediction, "text/csv"))
    assert status == 406
    assert "application/json" in message


def test_under_the_toolkit_a_refused_request_is_a_json_answer_with_its_status(loaded):
    statuses, body = serve(loaded, b"hello", "text/plain")
    assert statuses == [(415, "Unsupported Media Type")]
    assert body["error"]["code"] == "unsupported_media_type"
    assert body["error"]["message"].startswith("unsupported content type 'text/plain'")


def test_under_the_toolkit_an_unacceptable_accept_is_a_406(loaded, airedale_jpeg):
    statuses, body = serve(loaded, airedale_jpeg, "image/jpeg", accept="text/csv")
    assert statuses == [(406, "Not Acceptable")]
    assert body["error"]["code"] == "not_acceptable"


def test_under_the_toolkit_a_fault_is_a_500_whose_traceback_only_the_log_sees(
    loaded, airedale_jpeg, monkeypatch, caplog
):
    def broken(data, model):
        raise RuntimeError("CUDA went away at /opt/ml/model/code/inference.py")

    monkeypatch.setattr(inference, "predict", broken)
    statuses, body = serve(loaded, airedale_jpeg, "image/jpeg")
    assert statuses == [(500, "Internal Server Error")]
    assert body == {
        "error": {
            "code": "internal",
            "message": "the model server failed on this request; its log has the details",
        }
    }
    assert "Traceback" in caplog.text
    assert "CUDA went away" in caplog.text


def test_under_the_toolkit_a_good_request_sets_no_status(loaded, airedale_jpeg):
    statuses, body = serve(loaded, airedale_jpeg, "image/jpeg")
    assert statuses == []
    assert body["predictions"][0]["breed"] == "Airedale terrier"


def test_a_model_whose_scores_are_not_finite_is_a_500_never_nan(loaded, airedale_jpeg):
    broken = dataclasses.replace(
        loaded, model=lambda batch: torch.full((len(batch), len(loaded.class_names)), float("nan"))
    )
    statuses, body = serve(broken, airedale_jpeg, "image/jpeg")
    assert statuses == [(500, "Internal Server Error")]
    assert body["error"]["code"] == "internal"
