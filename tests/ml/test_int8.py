"""The int8 endpoint model (ml/quantize.py, ml.package --int8): calibrated, checked against
fp32 before it ships, loaded without calibration data, chosen on a CPU, refused when it agrees
too little."""

from __future__ import annotations

import subprocess
import sys
import tarfile

import pytest
import torch

from ml import inference, package
from ml.artifacts import write_model_artifacts
from ml.model import build_model
from ml.package import Int8Options, build_model_archive
from ml.quantize import INT8_WEIGHTS_FILE, QuantizationRefusedError
from tests.images import sample_image
from tests.training import REPO_ROOT, python_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_the_archive_carries_both_models(int8_archive):
    with tarfile.open(int8_archive) as archive:
        names = set(archive.getnames())
    assert {"model.pth", INT8_WEIGHTS_FILE} <= names


def test_the_int8_state_loads_weights_only(extracted):
    state = torch.load(extracted / INT8_WEIGHTS_FILE, weights_only=True)
    assert any(tensor.is_quantized for tensor in state.values() if isinstance(tensor, torch.Tensor))


def test_on_a_cpu_the_handler_serves_int8_and_says_so(extracted, sample_dataset, caplog):
    loaded = inference.model_fn(str(extracted))
    assert loaded.precision == "int8"
    assert "(int8)" in caplog.text
    for folder in ("001.Affenpinscher", "002.Afghan_hound", "003.Airedale_terrier", "004.Akita"):
        image = sample_image(sample_dataset, folder).read_bytes()
        answer = inference.predict_fn(inference.input_fn(image, "image/jpeg"), loaded)
        assert answer["precision"] == "int8"
        assert answer["predictions"][0]["breed"] == folder.split(".", 1)[1].replace("_", " ")


def test_inference_precision_forces_fp32(extracted, monkeypatch):
    monkeypatch.setenv("INFERENCE_PRECISION", "fp32")
    assert inference.model_fn(str(extracted)).precision == "fp32"


def test_a_gpu_serves_fp32_even_with_int8_in_the_archive(extracted, monkeypatch):
    """The choice is a function of the device, so no GPU is needed to test it."""
    cuda = torch.device("cuda")
    assert inference.choose_precision(extracted, cuda) == "fp32"
    monkeypatch.setenv("INFERENCE_PRECISION", "int8")
    with pytest.raises(ValueError, match="runs on the CPU only"):
        inference.choose_precision(extracted, cuda)
    monkeypatch.setenv("INFERENCE_PRECISION", "fp16")
    with pytest.raises(ValueError, match="must be auto, fp32 or int8"):
        inference.choose_precision(extracted, torch.device("cpu"))


@pytest.fixture
def tied_model_dir(tmp_path):
    """A model dir whose head's logits nearly tie: int8 rounding flips many answers."""
    torch.manual_seed(0)
    model = build_model("resnet18", 4)
    with torch.no_grad():
        model.fc.weight.mul_(1e-4)
        model.fc.bias.zero_()
    config = {"arch": "resnet18", "image_size": 32, "num_classes": 4}
    names = ["Affenpinscher", "Afghan hound", "Airedale terrier", "Akita"]
    write_model_artifacts(tmp_path / "model", model, config, names, [], {})
    return tmp_path / "model"


def test_too_little_agreement_writes_no_archive(tied_model_dir, sample_dataset, tmp_path):
    options = Int8Options(sample_dataset / "valid", sample_dataset / "test")  # the default 99%
    assert options.min_agreement == 0.99
    with pytest.raises(
        QuantizationRefusedError, match=r"int8 agrees with fp32 on .* below the required 99.00%"
    ):
        build_model_archive(tied_model_dir, tmp_path / "model.tar.gz", options)
    assert not (tmp_path / "model.tar.gz").exists()


def test_int8_optional_ships_fp32_and_says_why(tied_model_dir, sample_dataset, tmp_path, caplog):
    """What the boot script runs with int8 on: a finished model ships without its int8 copy."""
    package.main(
        [
            str(tied_model_dir),
            str(tmp_path / "model.tar.gz"),
            "--int8",
            "--int8-optional",
            "--calibration-dir",
            str(sample_dataset / "valid"),
            "--holdout-dir",
            str(sample_dataset / "test"),
        ]
    )
    with tarfile.open(tmp_path / "model.tar.gz") as archive:
        names = set(archive.getnames())
    assert "model.pth" in names
    assert INT8_WEIGHTS_FILE not in names
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warning.startswith("int8 model left out, the archive holds fp32 only: int8 agrees")
    assert "below the required 99.00%" in warning


def test_int8_optional_goes_with_int8(tied_model_dir, tmp_path, capsys):
    with pytest.raises(SystemExit):
        package.main([str(tied_model_dir), str(tmp_path / "m"), "--int8-optional"])
    assert "--int8-optional goes with --int8" in capsys.readouterr().err


def test_the_command_line_needs_the_image_folders(trained_model, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ml.package",
            str(trained_model.model_dir),
            str(tmp_path / "m.tar.gz"),
            "--int8",
        ],
        cwd=REPO_ROOT,
        env=python_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "--int8 needs --calibration-dir and --holdout-dir" in result.stderr


def test_the_package_reports_agreement_and_size(trained_model, sample_dataset, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ml.package",
            str(trained_model.model_dir),
            str(tmp_path / "m.tar.gz"),
            "--int8",
            "--calibration-dir",
            str(sample_dataset / "valid"),
            "--holdout-dir",
            str(sample_dataset / "test"),
            "--min-agreement",
            "0.9",
        ],
        cwd=REPO_ROOT,
        env=python_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "int8 agrees with fp32 on" in result.stderr
    assert "MB)" in result.stderr
