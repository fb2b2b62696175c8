"""Synthetic genome/prediction h5 pairs in upstream's layout, for peer comparisons and error tests."""

from __future__ import annotations

import h5py
import numpy as np

from helixtune import h5layout


def noisy_predictions(rng, labels, phase_labels, sigma):
    """softmax(4 * onehot + N(0, sigma)) as float16, like Helixer's outputs on an uncertain genome."""
    def softmax(onehot):
        logits = 4.0 * onehot + rng.normal(0, sigma, onehot.shape)
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float16)

    return softmax(np.eye(4)[labels]), softmax(np.eye(4)[phase_labels])


def planted_labels(rng, length):
    """Gene-like label tracks: intergenic stretches, then UTR / CDS (with phases) / intron / CDS / UTR."""
    labels = np.zeros(length, np.int64)
    phases = np.zeros(length, np.int64)
    position = int(rng.integers(200, 2000))
    while position < length - 3000:
        parts = [(1, int(rng.integers(20, 200)))]
        for _ in range(int(rng.integers(1, 4))):
            parts += [(2, int(rng.integers(60, 600))), (3, int(rng.integers(60, 400)))]
        parts += [(2, int(rng.integers(60, 600))), (1, int(rng.integers(20, 300)))]
        coding = 0
        for label, size in parts:
            labels[position:position + size] = label
            if label == 2:
                phases[position:position + size] = 1 + (coding + np.arange(size)) % 3
                coding += size
            position += size
        position += int(rng.integers(300, 3000))
    return labels, phases


def write_pair(folder, seed, lengths=(30_000, 12_000), block=10_000, sigma=1.8, species="Synthetica_testii",
               md5="synthetic-model"):
    """Write genome.h5 and predictions.h5 (both strands, padded last blocks) and return their paths."""
    rng = np.random.default_rng(seed)
    xs, preds, phases, seqids, start_ends = [], [], [], [], []
    one_hot = np.eye(4, dtype=np.float16)  # columns C, A, T, G
    for number, length in enumerate(lengths):
        letters = rng.integers(0, 4, length)
        x = one_hot[letters]
        x[rng.random(length) < 0.002] = 0.25  # a few N
        strands = []
        for reverse in (False, True):
            labels, phase_labels = planted_labels(rng, length)
            p, ph = noisy_predictions(rng, labels, phase_labels, sigma)
            strand_x = x[::-1, ::-1] if reverse else x  # reverse complement: C,A,T,G -> G,T,A,C
            strands.append((strand_x, p, ph))
        bounds = [(s, min(s + block, length)) for s in range(0, length, block)]
        for reverse, (strand_x, p, ph) in zip((False, True), strands):
            order = [(length - e, length - s) for s, e in reversed(bounds)] if reverse else bounds
            for s, e in order:
                rows = [np.zeros((block, 4), np.float16) for _ in range(3)]
                for row, values in zip(rows, (strand_x, p, ph)):
                    row[:e - s] = values[s:e]
                xs.append(rows[0])
                preds.append(rows[1])
                phases.append(rows[2])
                seqids.append(f"chr{number + 1}")
                start_ends.append((length - s, length - e) if reverse else (s, e))
    genome, predictions = folder / f"genome_{seed}.h5", folder / f"predictions_{seed}.h5"
    n = len(xs)
    with h5py.File(genome, "w") as h5:
        h5layout.create_dataset(h5, h5layout.X, n, block, data=np.stack(xs))
        h5layout.create_dataset(h5, h5layout.SEQIDS, n, data=np.array(seqids, dtype="S50"))
        h5layout.create_dataset(h5, h5layout.SPECIES, n, data=np.array([species] * n, dtype="S25"))
        h5layout.create_dataset(h5, h5layout.START_ENDS, n, data=np.array(start_ends, np.int64))
    with h5py.File(predictions, "w") as h5:
        h5layout.create_dataset(h5, h5layout.PREDICTIONS, n, block, data=np.stack(preds))
        h5layout.create_dataset(h5, h5layout.PREDICTIONS_PHASE, n, block, data=np.stack(phases))
        if md5 is not None:
            h5.attrs["model_md5sum"] = md5  # h5py stores str as a variable-length UTF-8 string, like Helixer
    return genome, predictions
