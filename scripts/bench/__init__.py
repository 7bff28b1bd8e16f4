"""`make bench` (dev only, not installed): edge-classify against the study's Keras predict, a
naive loop and MediaPipe. Run from the checkout as `python -m scripts.bench` (docs/bench.md).

`__main__` measures, `data` prepares the image sets, `model` builds stand-in models (it imports
TensorFlow, so it runs in its own process: `python -m scripts.bench.model`), `spawn` times one
contender's process, `machine` reads the CPU model, load average and other processes' CPU use,
`startup` times `--help`, a one-image run and the serverless cold start, `goals` states what
the tool is held to, `report` prints the tables and the goals and writes docs/bench.md's table,
and `workers` holds the contenders other than
edge-classify. `workers` imports only the standard library at the top and no other module of
this package: the MediaPipe contender runs it by path under another venv's python.
"""
