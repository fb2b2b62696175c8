"""The gene-level check's validation subset (train --select-by cds-exon-f1|gene-f1)."""

import pytest


def test_gene_level_check_reads_filtered_data_as_its_two_stranded_stretches(test_data, copy_rows, tmp_path):
    """self-train keeps confident chunks per strand: the check decodes the stretches that kept both strands."""
    import h5py

    from helixtune.decode.label_predictions import write_label_predictions
    from helixtune.decode.pipeline import decode_to_gff3
    from helixtune.evaluate.compare import evaluate
    from helixtune.train.gene_check import GeneLevelCheck

    folder = tmp_path / "filtered"
    folder.mkdir()
    # a 245,704-bp Micromonas sequence with 12 plus but only 8 minus chunks; drop one more chunk per strand
    kept = [r for r in range(20) if r not in (3, 16)]
    copy_rows(test_data / "train" / "training_data.h5", folder / "validation_data.h5", kept)
    check = GeneLevelCheck([folder / "validation_data.h5"], tmp_path / "check", threads=1)
    with h5py.File(check.genome) as h5:
        seqids = [bytes(s).decode() for s in h5["data/seqids"][:]]
        start_ends = h5["data/start_ends"][:]
    # both strands of [85536, 149688) and of [171072, 245704), each shifted to start at 0
    assert sorted(set(seqids)) == ["NW_003315900.1:171072-245704", "NW_003315900.1:85536-149688"]
    first = [tuple(se) for s, se in zip(seqids, start_ends.tolist()) if s.endswith("85536-149688")]
    assert first == [(0, 21384), (21384, 42768), (42768, 64152), (64152, 42768), (42768, 21384), (21384, 0)]
    labels = tmp_path / "labels.h5"
    write_label_predictions(check.genome, labels)
    decode_to_gff3(check.genome, labels, tmp_path / "again.gff3", threads=1, show_progress=False,
                   **check.decode_keywords)  # the check's decoder (the genome decoder by default)
    result = evaluate(check.reference, tmp_path / "again.gff3")
    assert result["sanity"]["reference"]["genes"] >= 3 and result["features"]["gene"]["f1"] == 1.0


def test_gene_level_check_of_a_coverage_model_predicts_with_the_coverage_tracks(test_data, copy_rows, tmp_path):
    """Coverage tracks travel into the check's subset, and a coverage-mode model is scored with them."""
    import h5py
    import numpy as np

    from helixtune.data import resolve_model_path
    from helixtune.model.model_file import DEFAULT_COVERAGE_DATASETS
    from helixtune.train.config import TrainConfig
    from helixtune.train.finetune import build_training_model
    from helixtune.train.gene_check import GeneLevelCheck

    folder = tmp_path / "cov"
    folder.mkdir()
    validation = folder / "validation_data.h5"
    copy_rows(test_data / "train" / "validation_data.h5", validation, [4, 5, 6, 7])  # two whole sequences
    with h5py.File(validation, "a") as h5:
        shape = h5["data/X"].shape[:2] + (1,)
        reads = np.random.default_rng(0).poisson(3.0, size=shape).astype(np.int32)
        for name in DEFAULT_COVERAGE_DATASETS:
            h5.create_dataset(name, data=reads)
    check = GeneLevelCheck([validation], tmp_path / "check", threads=1)
    with h5py.File(check.genome) as h5:
        assert all(h5[name].shape == shape for name in DEFAULT_COVERAGE_DATASETS)
    config = TrainConfig(data_dir=str(folder), load_model_path=str(resolve_model_path("bundled")),
                         fine_tune_mode="coverage", coverage_norm="log")
    model, _ = build_training_model(config, coverage_tracks=1)
    scores = check(model)
    assert scores["reference_genes"] >= 3 and 0.0 <= scores["gene_f1"] <= 1.0 and scores["genes"] >= 0


def test_the_gene_check_decodes_with_the_chosen_decoder(test_data, copy_rows, tmp_path):
    """HelixerPost's decoder by default; the genome decoder on request (its parameters as given, never adapted);
    each keeps its own reference, so a resumed run that changed decoder does not compare with the other's."""
    from helixtune.errors import HelixtuneError
    from helixtune.train.config import TrainConfig
    from helixtune.train.gene_check import resolve_selection

    copy_rows(test_data / "train" / "training_data.h5", tmp_path / "validation_data.h5", list(range(20)))
    config = TrainConfig(data_dir=str(tmp_path), load_model_path="pretrained.safetensors", select_by="gene-f1",
                         gene_check_bp=100_000)
    select_by, check, _ = resolve_selection(config, [tmp_path / "validation_data.h5"], tmp_path / "check", 1)
    assert select_by == "gene-f1" and check.decode_keywords == {"decoder": "helixerpost"}
    assert check.reference.name == "validation_subset.reference.helixerpost.gff3" and check.reference.exists()
    config.gene_check_decoder = "genome"
    _, other, _ = resolve_selection(config, [tmp_path / "validation_data.h5"], tmp_path / "check", 1)
    assert other.decode_keywords == {"decoder": "genome", "params": None, "adapt": False}
    assert other.reference.name == "validation_subset.reference.genome.gff3" and other.reference.exists()
    with pytest.raises(HelixtuneError, match="--gene-check-params needs --gene-check-decoder genome"):
        TrainConfig(data_dir=str(tmp_path), gene_check_decoder="helixerpost", gene_check_params="p.json")


def test_a_per_file_gene_check_scores_every_validation_file_alike(test_data, copy_rows, tmp_path):
    """--gene-check-average per-file: each file's gene F1 (as `evaluate --sequences` gives it on that file's
    sequences), and their mean as the selection score; pooled F1 stays in the figures."""
    import h5py
    import numpy as np
    import pytest as _pytest

    from helixtune import h5layout
    from helixtune.data import resolve_model_path
    from helixtune.evaluate.compare import evaluate
    from helixtune.model.model_file import load_model
    from helixtune.train.gene_check import GeneLevelCheck

    folder = tmp_path / "two"
    folder.mkdir()
    copy_rows(test_data / "train" / "validation_data.h5", folder / "validation_data_a.h5", [4, 5, 6, 7])
    # b: both strands of the first 85,536 bp of NW_003315900.1 (plus chunks in training_data, minus in validation)
    copy_rows(test_data / "train" / "training_data.h5", tmp_path / "plus.h5", [0, 1, 2, 3])
    copy_rows(test_data / "train" / "validation_data.h5", tmp_path / "minus.h5", [0, 1, 2, 3])
    with h5py.File(tmp_path / "plus.h5") as plus, h5py.File(tmp_path / "minus.h5") as minus, \
            h5py.File(folder / "validation_data_b.h5", "w") as both:
        for name in h5layout.ANNOTATED_DATASETS:
            data = np.concatenate([plus[name.path][:], minus[name.path][:]])
            h5layout.create_dataset(both, name, len(data), plus[h5layout.X.path].shape[1], data=data)
    paths = [folder / "validation_data_a.h5", folder / "validation_data_b.h5"]
    check = GeneLevelCheck(paths, tmp_path / "check", decoder="genome", threads=1, average="per-file")
    assert check.files == {"f0_": "validation_data_a", "f1_": "validation_data_b"}
    model, _ = load_model(resolve_model_path("bundled"))
    scores = check(model)
    with h5py.File(check.genome) as h5:
        seqids = sorted({bytes(s).decode() for s in h5["data/seqids"][:]})
    expected = []
    for prefix, name in check.files.items():
        mine = [s for s in seqids if s.startswith(prefix)]
        result = evaluate(check.reference, check.work_dir / "check.gff3", sequences=mine)
        assert scores[f"gene_f1_{name}"] == _pytest.approx(result["features"]["gene"]["f1"])
        expected.append(result["features"]["gene"]["f1"])
    assert check.score(scores, "gene-f1") == _pytest.approx(sum(expected) / 2)
    assert scores["gene_f1"] == evaluate(check.reference, check.work_dir / "check.gff3")["features"]["gene"]["f1"]
    pooled = GeneLevelCheck(paths, tmp_path / "check", decoder="genome", threads=1)
    assert pooled.files == {} and pooled.score(scores, "gene-f1") == scores["gene_f1"]
