"""pawlite's training stage: reproduce the study, from the dataset to the report."""

import os

# oneDNN is off by default on CPUs without AVX-512; with it, a training batch costs about a
# third less CPU here (measured per model in the study issue). It must be set before
# TensorFlow is first imported, which any train module may do.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
