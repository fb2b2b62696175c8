"""Build step for the one compiled part: the bfloat16 BiLSTM kernel used by CPU prediction.

Everything else is in pyproject.toml. The kernel is optional: where it cannot be built, installation goes on
and prediction uses PyTorch's LSTM (see helixtune/model/bf16_lstm.py).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("helixtune.model._lstm_kernel", ["src/helixtune/model/_lstm_kernel.c"],
                             extra_compile_args=["-O3", "-std=c11"], optional=True)])
