"""model.tar.gz: the documented layout, reproducible, and self-contained: its code/ loads the
model and classifies with nothing but the archive on sys.path."""

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from ml.artifacts import INT8_WEIGHTS_FILE
from ml.package import build_model_archive
from tests.training import SAMPLE_CLASSES

pytestmark = [pytest.mark.integration]

MODEL_FILES = {
    "model.pth",
    "model_config.json",
    "class_names.json",
    "metrics.json",
    "baseline.json",
}


def test_archive_has_the_documented_layout(trained_model, tmp_path: Path):
    archive = build_model_archive(trained_model.model_dir, tmp_path / "model.tar.gz")
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        assert all(member.mtime == 0 and member.uid == 0 for member in tar.getmembers())
    # The int8 copy when training's check shipped one (ml.train's default).
    int8 = {INT8_WEIGHTS_FILE} & {path.name for path in trained_model.model_dir.iterdir()}
    assert {name for name in names if "/" not in name} == MODEL_FILES | int8
    assert {name for name in names if "/" in name} == {"code/inference.py"} | {
        name for name in names if name.startswith("code/ml/")
    }
    assert {"code/ml/__init__.py", "code/ml/inference.py", "code/ml/data.py"} <= names


def test_archive_is_reproducible(trained_model, tmp_path: Path):
    first = build_model_archive(trained_model.model_dir, tmp_path / "a.tar.gz").read_bytes()
    second = build_model_archive(trained_model.model_dir, tmp_path / "b.tar.gz").read_bytes()
    assert first == second


def test_archive_code_loads_and_classifies_on_its_own(
    trained_model, sample_dataset: Path, tmp_path: Path
):
    archive = build_model_archive(trained_model.model_dir, tmp_path / "model.tar.gz")
    extracted = tmp_path / "extracted"
    with tarfile.open(archive) as tar:
        tar.extractall(extracted, filter="data")
    image = next((sample_dataset / "test" / "003.Airedale_terrier").iterdir())
    script = (
        "import json, sys\n"
        "sys.path.insert(0, 'code')\n"  # the serving toolkit puts code/ on sys.path
        "import inference\n"
        "model = inference.model_fn('.')\n"
        f"data = inference.input_fn(open({str(image)!r}, 'rb').read(), 'image/jpeg')\n"
        "body, content_type = inference.output_fn(inference.predict_fn(data, model), "
        "'application/json')\n"
        "print(body)\n"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", script],
        cwd=extracted,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    predictions = json.loads(result.stdout)["predictions"]
    assert predictions[0]["breed"] == "Airedale terrier"
    assert len(predictions) == SAMPLE_CLASSES


def test_missing_model_files_are_named(tmp_path: Path):
    (tmp_path / "model.pth").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match=r"lacks model_config\.json, class_names\.json"):
        build_model_archive(tmp_path, tmp_path / "model.tar.gz")
    assert not (tmp_path / "model.tar.gz").exists()
