"""cartsense product recognition: data, training, ONNX export, INT8, evaluation, bundles."""

import os

# OpenMP threads that spin while waiting waste most of their time when the cores are shared
# (a build running beside training made 2-thread steps 3x slower); sleeping waits do not.
# Set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
