"""The training generator against upstream's own (`HybridSequence`) values on the same files."""

from __future__ import annotations

import numpy as np
import pytest

from helixtune.errors import HelixtuneError
from helixtune.train.data import (ChunkDataset, DataOptions, EpochBatchSampler, check_label_quality,
                                  pooled_sample_weights, stack_batch)

CW = [0.7, 1.6, 1.2, 1.2]
TW = [1, 12, 3, 1, 12, 3]


@pytest.mark.parametrize("batch,filename,first_row", [("train_first4", "training_data.h5", 0),
                                                      ("val_last4_padded", "validation_data.h5", 4)])
def test_sample_weights_equal_upstream_generator(test_data, batch, filename, first_row):
    reference = np.load(test_data / "train" / "loss_reference_sw.npz")
    path = test_data / "train" / filename
    cases = [("weighted", "train", DataOptions(class_weights=CW, transition_weights=TW)),
             ("unweighted", "train", DataOptions()),
             ("unweighted_val_mode", "val", DataOptions(class_weights=CW, transition_weights=TW))]
    for key, mode, options in cases:
        got = stack_batch(ChunkDataset([path], mode, options), range(first_row, first_row + 4))
        expected = reference[f"{batch}__{key}"]
        assert got["sample_weights"].shape == expected.shape == (4, 2376)
        np.testing.assert_array_equal(got["sample_weights"], expected.astype(np.float32), err_msg=key)
        assert got["X"].shape == (4, 21384, 4) and got["y"].shape == (4, 2376, 9, 4)
        assert got["phases"].shape == (4, 2376, 9, 4)


def test_padded_minus_chunks_are_rotated_padding_first(test_data):
    import h5py

    path = test_data / "train" / "validation_data.h5"
    with h5py.File(path) as h5:
        x_stored = h5["data/X"][:]
        start_ends = h5["data/start_ends"][:]
    sample = ChunkDataset([path], "test", DataOptions())
    for row in range(len(start_ends)):
        start, end = start_ends[row]
        real = abs(int(start) - int(end))
        x = sample[row]["X"]
        if start > end and real < 21384:  # rows 5 and 7: padding moved to the front
            assert not x[:21384 - real].any()
            np.testing.assert_array_equal(x[21384 - real:], x_stored[row, :real])
        else:
            np.testing.assert_array_equal(x, x_stored[row])
    assert {5, 7} == {r for r in range(8) if start_ends[r, 0] > start_ends[r, 1] and
                      abs(start_ends[r, 0] - start_ends[r, 1]) < 21384}


def test_only_usable_chunks_are_used(test_data, tmp_path, copy_rows):
    def mark(arrays):
        arrays["data/is_annotated"][1] = False
        arrays["data/err_samples"][2] = False
        arrays["data/sample_weights"][2] = 0

    path = tmp_path / "training_data.h5"
    copy_rows(test_data / "train" / "training_data.h5", path, [0, 1, 2, 3], edit=mark)
    for mode in ("train", "val"):
        dataset = ChunkDataset([path], mode, DataOptions())
        assert len(dataset) == 2 and dataset.n_masked == 2
        assert [dataset.locate(i)[1] for i in range(2)] == [0, 3]
    assert len(ChunkDataset([path], "test", DataOptions())) == 4


def test_pool_clipping_and_pooled_mask():
    sw = np.ones((1, 20), dtype=np.int8)
    sw[0, 4] = 0
    assert pooled_sample_weights(sw[:, :18], 9).tolist() == [[0, 1]]


def test_label_quality_gate(test_data, tmp_path, copy_rows):
    assert check_label_quality([test_data / "train" / "training_data.h5"]).genic_fraction > 0.3

    def all_intergenic(arrays):
        arrays["data/y"][:] = 0
        arrays["data/y"][..., 0] = 1

    path = tmp_path / "training_data.h5"
    copy_rows(test_data / "train" / "training_data.h5", path, [0, 1], edit=all_intergenic)
    with pytest.raises(HelixtuneError, match="genic"):
        check_label_quality([path])

    def unusable(arrays):
        arrays["data/err_samples"][:] = False

    copy_rows(test_data / "train" / "training_data.h5", path, [0, 1], edit=unusable)
    with pytest.raises(HelixtuneError, match="no usable training chunk"):
        check_label_quality([path])


def test_batch_sampler_epochs_resume_and_ranks():
    sampler = EpochBatchSampler(10, 3, seed=1)
    sampler.set_epoch(0)
    epoch0 = list(sampler)
    assert [len(b) for b in epoch0] == [3, 3, 3, 1] and sorted(sum(epoch0, [])) == list(range(10))
    sampler.set_epoch(1)
    epoch1 = list(sampler)
    assert epoch1 != epoch0
    sampler.skip_batches = 2
    assert list(sampler) == epoch1[2:]
    assert list(sampler) == epoch1  # the skip is used once
    ranks = [EpochBatchSampler(10, 2, seed=1, rank=r, world_size=2) for r in (0, 1)]
    per_rank = [list(s) for s in ranks]
    assert len(per_rank[0]) == len(per_rank[1]) == 3
    assert set(sum(per_rank[0] + per_rank[1], [])) == set(range(10))


def test_balanced_epochs_draw_every_file_alike():
    """--balance-training-files: an epoch keeps its length and takes an equal share from every file; a small
    file's samples all come once before any comes twice, a large file's are a fresh subset each epoch."""
    sizes = [3, 40, 0, 17]  # 60 samples; the empty file gets nothing
    sampler = EpochBatchSampler(60, 8, seed=2, file_sizes=sizes)
    offsets = np.cumsum([0] + sizes)
    for epoch in (0, 1):
        order = sampler.order(epoch)
        assert len(order) == 60
        files = np.searchsorted(offsets, order, side="right") - 1
        assert np.bincount(files, minlength=4).tolist() == [20, 20, 0, 20]
        small = np.bincount(order[files == 0], minlength=3)
        assert small.min() >= 6 and small.max() <= 7  # 20 draws of 3 samples: each 6 or 7 times
        assert len(set(order[files == 1].tolist())) == 20  # 20 of 40, none twice
        assert set(order[files == 3].tolist()) == set(range(43, 60))  # all 17, three of them twice
        assert sampler.order(epoch).tolist() == order.tolist()  # reproducible from (seed, epoch)
    assert sampler.order(0).tolist() != sampler.order(1).tolist()
    with pytest.raises(ValueError, match="do not add up"):
        EpochBatchSampler(61, 8, file_sizes=sizes)


def test_coverage_inputs_are_raw_counts_after_dna(shared_data):
    import h5py

    path = shared_data / "reference_models" / "data" / "spombe_cov_split" / "training_data.h5"
    dataset = ChunkDataset([path], "train", DataOptions(input_coverage=True))
    assert dataset.coverage_count == 1 and len(dataset) == 10  # row 10 (fully masked) is dropped
    sample = dataset[0]
    assert sample["X"].shape == (21384, 6) and sample["X"].dtype == np.float32
    with h5py.File(path) as h5:
        np.testing.assert_array_equal(sample["X"][:, 4], h5["evaluation/rnaseq_coverage"][0, :, 0])
        np.testing.assert_array_equal(sample["X"][:, 5], h5["evaluation/rnaseq_spliced_coverage"][0, :, 0])
        np.testing.assert_array_equal(sample["X"][:, :4], h5["data/X"][0].astype(np.float32))
