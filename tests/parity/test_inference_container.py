"""Archives built here (fp32, and with the int8 model) answer in the inference container's
environment (its Python, torch, Pillow, TorchServe and SageMaker toolkit versions) as they
answer here: through TorchServe's Context and the toolkit's HandlerService, the same statuses,
the same breeds, the same probabilities (int8: the same top breed). The requests are the
sample photos, every form of a photo that phones, cameras and browsers write
(tests/photos.py), and the ways clients send one (tests/client_requests.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.client_requests import client_requests
from tests.images import sample_image
from tests.parity.conftest import parity_python, run_driver, versions_of
from tests.photos import corpus

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FOLDERS = ("001.Affenpinscher", "002.Afghan_hound", "003.Airedale_terrier", "004.Akita")


@pytest.fixture(scope="module")
def requests_file(sample_dataset, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("parity-requests")
    photos = [sample_image(sample_dataset, name) for name in FOLDERS]
    sent = [(photo.read_bytes(), "image/jpeg") for photo in photos]
    sent += [(b"hello", "image/jpeg"), (b"hello", "text/plain")]
    with Image.open(photos[3]) as small:
        picture = small.convert("RGB").resize((640, 480), Image.Resampling.BICUBIC)
    sent += [(photo.data, photo.content_type) for photo in corpus(picture)]
    akita = photos[3].read_bytes()
    sent += [(case.body, case.content_type) for case in client_requests(akita)]
    requests = []
    for index, (body, content_type) in enumerate(sent):
        (folder / f"{index}.bin").write_bytes(body)
        requests.append({"content_type": content_type, "body_file": str(folder / f"{index}.bin")})
    path = folder / "requests.json"
    path.write_text(json.dumps(requests))
    return path


def answers_here_and_there(archive: Path, requests_file: Path) -> tuple[dict, dict]:
    here = run_driver(Path(sys.executable), "serve_archive.py", str(archive), str(requests_file))
    there = run_driver(
        parity_python("inference"), "serve_archive.py", str(archive), str(requests_file)
    )
    return here, there


def test_the_container_environment_is_the_one_terraform_deploys():
    versions = versions_of(parity_python("inference"))
    assert versions["python"].startswith("3.12.")
    assert versions["torch"] == "2.6.0"


def test_an_fp32_archive_answers_there_as_here(model_archive, requests_file):
    here, there = answers_here_and_there(model_archive, requests_file)
    assert there["torch"].startswith("2.6.0")
    assert there["pillow"] == "12.1.1"  # terraform/runtimes.json: what the image's build took
    assert not here["torch"].startswith("2.6.0")
    assert [a["status"] for a in there["answers"][:6]] == [200, 200, 200, 200, 415, 415]
    for mine, theirs in zip(here["answers"], there["answers"], strict=True):
        assert mine["status"] == theirs["status"]
        if mine["status"] != 200:
            assert mine["body"]["error"]["code"] == theirs["body"]["error"]["code"]
            continue
        assert theirs["body"]["precision"] == "fp32"
        for a, b in zip(mine["body"]["predictions"], theirs["body"]["predictions"], strict=True):
            assert a["breed"] == b["breed"]
            assert a["probability"] == pytest.approx(b["probability"], abs=1e-4)


def test_an_int8_archive_built_here_loads_and_agrees_there(int8_archive, requests_file):
    here, there = answers_here_and_there(int8_archive, requests_file)
    assert [a["status"] for a in there["answers"]] == [a["status"] for a in here["answers"]]
    served = [a for a in there["answers"] if a["status"] == 200]
    assert {a["body"]["precision"] for a in served} == {"int8"}
    mine = [a for a in here["answers"] if a["status"] == 200]
    for a, b in zip(mine, served, strict=True):
        assert a["body"]["predictions"][0]["breed"] == b["body"]["predictions"][0]["breed"]
        assert a["body"]["predictions"][0]["probability"] == pytest.approx(
            b["body"]["predictions"][0]["probability"], abs=0.05
        )
