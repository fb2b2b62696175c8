"""train --decoder-statistics: the species' genome-decoder statistics fitted on the run's labels travel in the
tuned model, and annotate decodes with them."""

from __future__ import annotations

import shutil

import numpy as np

from helixtune.annotation.coding_transcripts import read_gene_models
from helixtune.cli import main
from helixtune.data import bundled_model_path, example_path
from helixtune.decode.options import model_decode_params
from helixtune.decode.params import DecodeParams
from helixtune.model import model_file
from helixtune.train.config import TrainConfig
from helixtune.train.run import _fits_decoder_statistics, train_model


def test_a_tuned_model_carries_its_training_labels_decoder_statistics_and_annotate_uses_them(tmp_path, capsys):
    from helixtune.annotation.pipeline import gff_to_h5

    # the example's 300 kbp of S. pombe (132 reference genes) as the tuning labels
    gff3, fasta = example_path("spombe_pieces.gff3.gz"), example_path("spombe_pieces.fa.gz")
    data = tmp_path / "data"
    data.mkdir()
    gff_to_h5(gff3, fasta, data / "training_data.h5", "Spombe")
    shutil.copy(data / "training_data.h5", data / "validation_data.h5")
    tuned = tmp_path / "tuned.safetensors"
    train_model(TrainConfig(data_dir=str(data), save_model_path=str(tuned),
                            load_model_path=str(bundled_model_path("fungi_base")), fine_tune_mode="head",
                            max_steps=1, batch_size=2, val_test_batch_size=8, select_by="genic-f1", seed=0),
                verbose=False)
    _, metadata = model_file.load_model(tuned)
    params = model_decode_params(metadata)
    bundled = DecodeParams.load()
    assert params is not None and params.source["genes"] >= 100
    assert params.source["adapted_to"].endswith("genes of the training labels")
    # the statistics are the labels' own: the median intron of the reference (S. pombe's introns are longer than
    # the fungal lineage's), the weights those the run started from
    reference_introns = [e - s for t in read_gene_models(gff3).transcripts for s, e in t.introns]
    assert abs(params.medians["intron"] - np.median(reference_introns)) <= 2
    assert params.medians["intron"] != bundled.medians["intron"]
    assert params.emission_weight == bundled.emission_weight and params.splice_weight == bundled.splice_weight

    # annotate decodes with them: the same genes as with those statistics given as --params, not adapted
    capsys.readouterr()
    own = tmp_path / "own.gff3"
    assert main(["annotate", "--fasta", str(fasta), "-l", str(tuned), "-o", str(own), "--threads", "1"]) == 0
    assert "with the model's own decoder statistics" in capsys.readouterr().err
    params.save(tmp_path / "params.json")
    given = tmp_path / "given.gff3"
    assert main(["annotate", "--fasta", str(fasta), "-l", str(tuned), "-o", str(given), "--threads", "1",
                 "--decoder", "genome", "--params", str(tmp_path / "params.json")]) == 0
    assert "own decoder statistics" not in capsys.readouterr().err
    assert own.read_text() == given.read_text()

    # predict passes them on, and decode uses them: the same genes again
    genome, predictions, decoded = tmp_path / "genome.h5", tmp_path / "predictions.h5", tmp_path / "decoded.gff3"
    assert main(["fasta2h5", "--fasta", str(fasta), "--h5-output-path", str(genome), "--species", "spombe_pieces"]) == 0
    assert main(["predict", "-l", str(tuned), "-t", str(genome), "-p", str(predictions), "--overlap",
                 "--threads", "1"]) == 0
    capsys.readouterr()
    assert main(["decode", str(genome), str(predictions), str(decoded), "--decoder", "genome", "--threads", "1"]) == 0
    assert "the statistics the model carries" in capsys.readouterr().err
    assert decoded.read_text().split("\n", 3)[3] == own.read_text().split("\n", 3)[3]

    # --allow-noncanonical keeps them too (AT-AC introns on top of the model's statistics)
    noncanonical, given = tmp_path / "noncanonical.gff3", tmp_path / "given_noncanonical.gff3"
    assert main(["decode", str(genome), str(predictions), str(noncanonical), "--decoder", "genome",
                 "--allow-noncanonical", "--threads", "1"]) == 0
    assert "the statistics the model carries" in capsys.readouterr().err
    params.allow_noncanonical = True
    params.save(tmp_path / "params_noncanonical.json")
    assert main(["decode", str(genome), str(predictions), str(given), "--decoder", "genome", "--threads", "1",
                 "--params", str(tmp_path / "params_noncanonical.json")]) == 0
    assert noncanonical.read_text().split("\n", 3)[3] == given.read_text().split("\n", 3)[3]


def test_statistics_are_fitted_when_fine_tuning_unless_told():
    assert _fits_decoder_statistics(TrainConfig(data_dir="d", load_model_path="m.safetensors"))
    assert not _fits_decoder_statistics(TrainConfig(data_dir="d"))  # from scratch: the lineage's model
    assert not _fits_decoder_statistics(TrainConfig(data_dir="d", load_model_path="m", decoder_statistics="no"))
    assert _fits_decoder_statistics(TrainConfig(data_dir="d", decoder_statistics="yes"))
