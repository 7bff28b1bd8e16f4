"""Stand-in models for `make bench` while the study's model4 and the bundled model are missing.

Builds the study's model4 with `train.models` (raw 0..255 pixels -> MobileNetV2
preprocessing -> frozen MobileNetV2 160 from the offline weights -> GlobalMaxPool -> Dense
head -> 2 logits), saves it as .keras (contender b), and converts it with export's own
converter and metadata writer into an int8 .tflite with uint8 input (contenders a, c, d), so
the benchmark runs the same kind of file the export stage ships. The head is seeded, not
trained: only speed is measured.

Run as a script (it imports TensorFlow, which the benchmark's parent process never does):
    python -m scripts.bench.model --weights W.h5 --calibration DIR --out DIR [--size 160]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

CLASS_NAMES = ("cats", "dogs")


def build_keras(weights: str | None, size: int, seed: int = 1337):
    """The study's model4 (train.models), untrained; `weights=None` gives a random base."""
    from train.models import build_model

    return build_model(4, (size, size), Path(weights) if weights else None, seed)


def calibration_images(folder: Path, size: int, count: int = 64) -> np.ndarray:
    """Up to `count` images of `folder` (recursive, sorted) at the model size, range pinned."""
    from edge.pixels.decode import load_image
    from export.converter import pin_input_range

    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    step = max(1, len(paths) // count)
    images = [load_image(p, (size, size)) for p in paths[::step][:count]]
    if not images:
        raise SystemExit(f"error: no images under {folder} for int8 calibration")
    return pin_input_range(np.stack(images))


def write_tflite(model, size: int, representative: np.ndarray, out: Path) -> Path:
    """int8 .tflite (uint8 in, float32 probabilities out) with TFLite + pawlite metadata."""
    from export import metadata as md
    from export.converter import check_raw_pixel_input, convert

    bare = convert(model, "int8", (size, size), representative)
    check_raw_pixel_input(bare)
    source = {"keras_sha256": None, "dataset_sha256": None, "split_seed": 1337}
    spec = md.pawlite_spec(CLASS_NAMES, (size, size), "tf-bilinear", "int8", source, "bench")
    meta = md.build_model_metadata("cats_vs_dogs", "pawlite bench stand-in (untrained head)",
                                   "bench", (size, size))
    data = md.populate(bare, meta, md.associated_files(CLASS_NAMES, spec))
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", help="MobileNetV2 no-top .h5 (default: random base)")
    parser.add_argument("--calibration", type=Path, required=True,
                        help="folder of images for int8 calibration")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--size", type=int, default=160)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    keras_path = args.out / "standin_model4.keras"
    tflite_path = args.out / "standin_int8.tflite"
    build_keras(args.weights, args.size).save(keras_path)
    from export.loaders import load_keras_model

    # Converting the reloaded model, as export does, also proves the .keras file loads.
    model = load_keras_model(keras_path)
    write_tflite(model, args.size, calibration_images(args.calibration, args.size), tflite_path)
    print(keras_path)
    print(tflite_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
