"""Bad datasets fail with an error that names the path and the problem."""

import logging
import shutil
import struct
import zlib
from pathlib import Path

import pytest

from ml import train
from ml.data import DatasetError, scan_split
from tests.training import TINY_TRAIN_ARGS, run_module, split_args

pytestmark = pytest.mark.unit


@pytest.fixture
def dataset(tmp_path: Path, sample_dataset: Path) -> Path:
    copy = tmp_path / "dogImages"
    shutil.copytree(sample_dataset, copy)
    return copy


def run_in_process(dataset: Path, tmp_path: Path, *extra: str):
    args = train.parse_args(
        [
            *TINY_TRAIN_ARGS,
            "--epochs",
            "1",
            *split_args(dataset, tmp_path / "model", tmp_path / "ckpt"),
            *extra,
        ]
    )
    return train.main(args)


def test_missing_channel_dir_is_named(dataset: Path, tmp_path: Path):
    shutil.rmtree(dataset / "valid")
    with pytest.raises(DatasetError, match=rf"{dataset / 'valid'} does not exist"):
        run_in_process(dataset, tmp_path)


def test_empty_class_is_named(dataset: Path, tmp_path: Path):
    empty = dataset / "train" / "002.Afghan_hound"
    for image in empty.iterdir():
        image.unlink()
    with pytest.raises(DatasetError, match=rf"{empty} contains no images"):
        run_in_process(dataset, tmp_path)


def test_corrupt_image_is_named(dataset: Path, tmp_path: Path):
    corrupt = dataset / "train" / "001.Affenpinscher" / "broken.jpg"
    corrupt.write_bytes(b"this is not a jpeg")
    with pytest.raises(DatasetError, match=rf"corrupt or unreadable image {corrupt}"):
        run_in_process(dataset, tmp_path)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that announces ``width`` x ``height`` 1-bit pixels and holds almost none: how a
    decompression bomb starts (decoded, it would take width * height bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


# Past Pillow's warning (MAX_IMAGE_PIXELS, about 89 megapixels), and past its error (twice that).
@pytest.mark.parametrize("side", [10_000, 20_000])
def test_a_decompression_bomb_is_named_before_training(dataset: Path, tmp_path: Path, side: int):
    bomb = dataset / "train" / "001.Affenpinscher" / "bomb.png"
    bomb.write_bytes(png_header_only(side, side))
    with pytest.raises(DatasetError, match=rf"image {bomb} has too many pixels to decode safely"):
        run_in_process(dataset, tmp_path)
    assert not (tmp_path / "ckpt").exists()  # nothing trained


def test_one_class_is_refused_before_training(dataset: Path, tmp_path: Path):
    for split in ("train", "valid", "test"):
        for other in sorted((dataset / split).iterdir())[1:]:
            shutil.rmtree(other)
    message = (
        rf"dataset folder {dataset / 'train'} has one class folder \(001.Affenpinscher\): "
        "a classifier needs at least 2 classes"
    )
    with pytest.raises(DatasetError, match=message):
        run_in_process(dataset, tmp_path)
    assert not (tmp_path / "ckpt").exists()


def test_skip_corrupt_leaves_them_out_and_counts_them(dataset: Path, caplog):
    train_dir = dataset / "train"
    healthy = len(scan_split(train_dir).samples)
    (train_dir / "001.Affenpinscher" / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    (train_dir / "004.Akita" / "empty.png").write_bytes(b"")
    (train_dir / "004.Akita" / "bomb.png").write_bytes(png_header_only(20_000, 20_000))
    with caplog.at_level(logging.WARNING, logger="ml.data"):
        split = scan_split(train_dir, skip_corrupt=True)
    assert len(split.samples) == healthy
    assert "skipped 3 unusable images" in caplog.text


def test_class_mismatch_between_splits_is_named(dataset: Path, tmp_path: Path):
    shutil.rmtree(dataset / "test" / "004.Akita")
    (dataset / "test" / "999.Wolf").mkdir()
    shutil.copy(
        next((dataset / "test" / "001.Affenpinscher").iterdir()),
        dataset / "test" / "999.Wolf" / "wolf.jpg",
    )
    with pytest.raises(DatasetError, match=r"missing \['004.Akita'\], unexpected \['999.Wolf'\]"):
        run_in_process(dataset, tmp_path)


@pytest.mark.integration
def test_cli_exits_non_zero_with_the_message(tmp_path: Path):
    missing = tmp_path / "nowhere"
    result = run_module(
        "ml.train", *TINY_TRAIN_ARGS, *split_args(missing, tmp_path / "model", tmp_path / "ckpt")
    )
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    message = f"dataset folder {missing / 'train'} does not exist"
    assert output.count(message) == 1, output  # logged once, not printed again on exit
    assert "Traceback" not in output


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--epochs", "0", "--epochs must be at least 1"),
        ("--lr", "-1", "--lr must be positive"),
        ("--pretrained", "maybe", "expected a boolean"),
        ("--arch", "vgg16", "invalid choice"),
        # A prefix of --model-dir is not --model-dir: the boot script's folders stay its own.
        ("--model", "/tmp/elsewhere", "unrecognized arguments: --model /tmp/elsewhere"),
        ("--checkpoint", "/tmp/elsewhere", "unrecognized arguments: --checkpoint"),
    ],
)
def test_bad_hyperparameters_are_rejected(flag, value, message, capsys):
    with pytest.raises(SystemExit) as raised:
        train.parse_args([flag, value])
    assert message in str(raised.value) + capsys.readouterr().err


def test_sagemaker_style_booleans_parse():
    args = train.parse_args(["--pretrained", "False", "--freeze-backbone", "true"])
    assert args.pretrained is False
    assert args.freeze_backbone is True
    assert train.parse_args(["--no-pretrained"]).pretrained is False
