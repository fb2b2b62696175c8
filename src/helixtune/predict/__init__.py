"""Prediction: stream a genome h5 through a model and write upstream's predictions h5 (docs/file-formats.md).

- `run`: `predict(model_path, test_data, output_path, PredictOptions(...))` and `predict_file(model, ...)`
- `engine`: batched inference on CPU (worker threads, bfloat16 convolutions) or CUDA
- `overlap`: upstream's `--overlap` windows and merging, independent of batch size
- `inputs`: reading X (+ coverage) with upstream's read-time rotation of padded minus-strand chunks
"""
