"""The network (HybridModel and fine-tune structures), model files, and upstream Keras model import.

- `network`: `HybridModelConfig`, `HybridModel`, `FineTunedModel`, `build_model` (see its docstring for the API)
- `model_file`: `save_model` / `load_model` (safetensors + JSON metadata; never unpickles)
- `keras_import`: `read_keras_model` (upstream `.h5` files read with h5py, no TensorFlow)
- `loading`: `open_model` (either format)
"""
