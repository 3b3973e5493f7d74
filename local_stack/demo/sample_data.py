"""Write a small dogImages-shaped dataset that a model can learn, for tests and the demo.

    python -m local_stack.demo.sample_data build/sample --classes 5 --per-class 20

Each breed (real dogImages folder names) gets its own colour and stripe orientation; every
image adds a random phase, shift, brightness and pixel noise, so the classes are distinct but
no two images are the same.
"""

from __future__ import annotations

import argparse
import colorsys
import logging
import math
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

logger = logging.getLogger(__name__)

# The 133 class folders of the dogImages dataset, in its order.
_BREED_WORDS = """
Affenpinscher Afghan_hound Airedale_terrier Akita Alaskan_malamute American_eskimo_dog
American_foxhound American_staffordshire_terrier American_water_spaniel
Anatolian_shepherd_dog Australian_cattle_dog Australian_shepherd Australian_terrier Basenji
Basset_hound Beagle Bearded_collie Beauceron Bedlington_terrier Belgian_malinois
Belgian_sheepdog Belgian_tervuren Bernese_mountain_dog Bichon_frise Black_and_tan_coonhound
Black_russian_terrier Bloodhound Bluetick_coonhound Border_collie Border_terrier Borzoi
Boston_terrier Bouvier_des_flandres Boxer Boykin_spaniel Briard Brittany Brussels_griffon
Bull_terrier Bulldog Bullmastiff Cairn_terrier Canaan_dog Cane_corso Cardigan_welsh_corgi
Cavalier_king_charles_spaniel Chesapeake_bay_retriever Chihuahua Chinese_crested
Chinese_shar-pei Chow_chow Clumber_spaniel Cocker_spaniel Collie Curly-coated_retriever
Dachshund Dalmatian Dandie_dinmont_terrier Doberman_pinscher Dogue_de_bordeaux
English_cocker_spaniel English_setter English_springer_spaniel English_toy_spaniel
Entlebucher_mountain_dog Field_spaniel Finnish_spitz Flat-coated_retriever French_bulldog
German_pinscher German_shepherd_dog German_shorthaired_pointer German_wirehaired_pointer
Giant_schnauzer Glen_of_imaal_terrier Golden_retriever Gordon_setter Great_dane
Great_pyrenees Greater_swiss_mountain_dog Greyhound Havanese Ibizan_hound Icelandic_sheepdog
Irish_red_and_white_setter Irish_setter Irish_terrier Irish_water_spaniel Irish_wolfhound
Italian_greyhound Japanese_chin Keeshond Kerry_blue_terrier Komondor Kuvasz
Labrador_retriever Lakeland_terrier Leonberger Lhasa_apso Lowchen Maltese Manchester_terrier
Mastiff Miniature_schnauzer Neapolitan_mastiff Newfoundland Norfolk_terrier Norwegian_buhund
Norwegian_elkhound Norwegian_lundehund Norwich_terrier Nova_scotia_duck_tolling_retriever
Old_english_sheepdog Otterhound Papillon Parson_russell_terrier Pekingese
Pembroke_welsh_corgi Petit_basset_griffon_vendeen Pharaoh_hound Plott Pointer Pomeranian
Poodle Portuguese_water_dog Saint_bernard Silky_terrier Smooth_fox_terrier Tibetan_mastiff
Welsh_springer_spaniel Wirehaired_pointing_griffon Xoloitzcuintli Yorkshire_terrier
"""
DOG_BREEDS = tuple(_BREED_WORDS.split())
CLASS_FOLDERS = tuple(f"{index:03d}.{name}" for index, name in enumerate(DOG_BREEDS, start=1))


def class_pattern(label: int, num_classes: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """An RGB uint8 image of class ``label``: its colour and stripe angle, randomly varied."""
    hue = label / num_classes
    base = np.array(colorsys.hsv_to_rgb(hue, 0.85, 0.9))
    accent = np.array(colorsys.hsv_to_rgb((hue + 0.5) % 1.0, 0.6, 0.35))
    angle = math.pi * label / num_classes
    frequency = 2 * math.pi * (3 + label % 4) / size
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    xs += rng.uniform(-size / 8, size / 8)
    ys += rng.uniform(-size / 8, size / 8)
    wave = np.sin(frequency * (xs * math.cos(angle) + ys * math.sin(angle)) + rng.uniform(0, 6.3))
    mix = (wave[..., None] + 1) / 2
    image = mix * base + (1 - mix) * accent
    image *= rng.uniform(0.8, 1.2)
    image += rng.normal(0, 0.06, image.shape)
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


def generate(
    out_dir: Path, classes: int, per_class: int, eval_per_class: int, size: int, seed: int
) -> Path:
    """Write ``train/``, ``valid/``, ``test/`` under ``out_dir``, all or nothing."""
    if not 2 <= classes <= len(CLASS_FOLDERS):
        raise ValueError(f"--classes must be between 2 and {len(CLASS_FOLDERS)}, got {classes}")
    if per_class < 1 or eval_per_class < 1:
        raise ValueError("--per-class and --eval-per-class must be at least 1")
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir} exists and is not empty; choose a new folder")
    rng = np.random.default_rng(seed)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        for split, count in (
            ("train", per_class),
            ("valid", eval_per_class),
            ("test", eval_per_class),
        ):
            for label, folder in enumerate(CLASS_FOLDERS[:classes]):
                target = staging / split / folder
                target.mkdir(parents=True)
                for index in range(count):
                    pixels = class_pattern(label, classes, size, rng)
                    name = f"{folder.split('.', 1)[1]}_{index:05d}.jpg"
                    Image.fromarray(pixels).save(target / name, quality=92)
        if out_dir.exists():
            out_dir.rmdir()
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.info(
        "wrote %d classes x (%d train, %d valid, %d test) images of %d px to %s",
        classes,
        per_class,
        eval_per_class,
        eval_per_class,
        size,
        out_dir,
    )
    return out_dir


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m local_stack.demo.sample_data", description=__doc__.splitlines()[0]
    )
    parser.add_argument("out_dir", type=Path, help="new folder for train/, valid/, test/")
    parser.add_argument("--classes", type=int, default=5, help="number of breeds (2..133)")
    parser.add_argument("--per-class", type=int, default=20, help="training images per breed")
    parser.add_argument(
        "--eval-per-class",
        type=int,
        default=None,
        help="valid and test images per breed (default: per-class / 4, min 2)",
    )
    parser.add_argument("--size", type=int, default=64, help="image side in pixels")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    eval_per_class = args.eval_per_class or max(2, args.per_class // 4)
    try:
        generate(args.out_dir, args.classes, args.per_class, eval_per_class, args.size, args.seed)
    except (ValueError, FileExistsError) as error:
        parser.error(str(error))


if __name__ == "__main__":
    main()
