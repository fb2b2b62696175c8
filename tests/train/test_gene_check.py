"""The gene-level check's validation subset (train --select-by cds-exon-f1|gene-f1)."""


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
    decode_to_gff3(check.genome, labels, tmp_path / "again.gff3", threads=1, show_progress=False)
    result = evaluate(check.reference, tmp_path / "again.gff3")
    assert result["sanity"]["reference"]["genes"] >= 3 and result["features"]["gene"]["f1"] == 1.0
