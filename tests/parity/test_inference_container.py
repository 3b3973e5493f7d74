"""Archives built here (fp32, and with the int8 model) answer in the inference container's
environment (its Python, torch, TorchServe and SageMaker toolkit versions) as they answer
here: through TorchServe's Context and the toolkit's HandlerService, the same statuses, the
same breeds, the same probabilities (int8: the same top breed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from ml.package import Int8Options, build_model_archive
from tests.images import sample_image
from tests.parity.conftest import parity_python, run_driver, versions_of

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FOLDERS = ("001.Affenpinscher", "002.Afghan_hound", "003.Airedale_terrier", "004.Akita")


@pytest.fixture(scope="module")
def requests_file(sample_dataset, tmp_path_factory) -> Path:
    requests = [
        {"content_type": "image/jpeg", "body_file": str(sample_image(sample_dataset, folder))}
        for folder in FOLDERS
    ]
    bad = tmp_path_factory.mktemp("parity-requests") / "not-an-image.txt"
    bad.write_text("hello")
    requests += [
        {"content_type": "image/jpeg", "body_file": str(bad)},
        {"content_type": "text/plain", "body_file": str(bad)},
    ]
    path = bad.with_name("requests.json")
    path.write_text(json.dumps(requests))
    return path


@pytest.fixture(scope="module")
def int8_archive(trained_model, sample_dataset, tmp_path_factory) -> Path:
    options = Int8Options(sample_dataset / "valid", sample_dataset / "test", min_agreement=0.9)
    return build_model_archive(
        trained_model.model_dir, tmp_path_factory.mktemp("parity-int8") / "model.tar.gz", options
    )


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
    assert not here["torch"].startswith("2.6.0")
    assert [a["status"] for a in there["answers"]] == [200, 200, 200, 200, 400, 415]
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
    served = [a for a in there["answers"] if a["status"] == 200]
    assert len(served) == len(FOLDERS)
    assert {a["body"]["precision"] for a in served} == {"int8"}
    mine = [a for a in here["answers"] if a["status"] == 200]
    for a, b in zip(mine, served, strict=True):
        assert a["body"]["predictions"][0]["breed"] == b["body"]["predictions"][0]["breed"]
        assert a["body"]["predictions"][0]["probability"] == pytest.approx(
            b["body"]["predictions"][0]["probability"], abs=0.05
        )
