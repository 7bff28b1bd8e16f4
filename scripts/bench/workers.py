"""The contenders `make bench` compares with edge-classify, one per process.

    python scripts/bench/workers.py keras|naive|mediapipe MODEL FOLDER

Each prints `first <unix time> <count>` when its first results exist and `end <unix time> <count>`
after the last, so the parent can time them from its own process start. Only the standard
library is imported at the top: the MediaPipe contender runs under another venv's python,
and each contender pays for its own imports, as a user's program would.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

SUFFIXES = (".jpg", ".jpeg", ".png")
BATCH = 32


def files(folder: str) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in SUFFIXES)


def stamp(what: str, *extra) -> None:
    print(what, repr(time.time()), *extra, flush=True)


def keras_predict(model_path: str, folder: str) -> int:
    """The study's way: `model.predict` over `image_dataset_from_directory`."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    model = keras.models.load_model(model_path, compile=False)
    size = tuple(model.input_shape[1:3])
    data = keras.utils.image_dataset_from_directory(
        folder, image_size=size, batch_size=BATCH, shuffle=False, verbose=False)
    count = len(data.file_paths)

    class FirstBatch(keras.callbacks.Callback):
        def on_predict_batch_end(self, batch, logs=None):
            if batch == 0:
                stamp("first", min(BATCH, count))

    probabilities = model.predict(data, verbose=0, callbacks=[FirstBatch()])
    stamp("end", len(probabilities))
    return 0


def naive_loop(model_path: str, folder: str) -> int:
    """What a first script does: Pillow full decode, resize, one invoke per image."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter
    from PIL import Image

    interpreter = Interpreter(model_path=model_path, num_threads=os.cpu_count())
    interpreter.allocate_tensors()
    source = interpreter.get_input_details()[0]["index"]
    height, width = interpreter.get_input_details()[0]["shape"][1:3]
    target = interpreter.get_output_details()[0]["index"]
    count = 0
    for path in files(folder):
        with Image.open(path) as image:
            pixels = image.convert("RGB").resize((width, height), Image.Resampling.BILINEAR)
        interpreter.set_tensor(source, np.asarray(pixels, np.uint8)[None])
        interpreter.invoke()
        interpreter.get_tensor(target)
        count += 1
        if count == 1:
            stamp("first", 1)
    stamp("end", count)
    return 0


def mediapipe_tasks(model_path: str, folder: str) -> int:
    """MediaPipe Tasks' ImageClassifier: its own decoder, its own resize, one image a call."""
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.ImageClassifierOptions(
        base_options=BaseOptions(model_asset_path=model_path), max_results=2)
    count = 0
    with vision.ImageClassifier.create_from_options(options) as classifier:
        for path in files(folder):
            classifier.classify(mp.Image.create_from_file(str(path)))
            count += 1
            if count == 1:
                stamp("first", 1)
    stamp("end", count)
    return 0


CONTENDERS = {"keras": keras_predict, "naive": naive_loop, "mediapipe": mediapipe_tasks}


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in CONTENDERS:
        sys.stderr.write(f"usage: workers.py {{{'|'.join(CONTENDERS)}}} MODEL FOLDER\n")
        return 2
    name, model, folder = argv
    return CONTENDERS[name](model, folder)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
