"""The genome decoder (`decode --decoder genome`), its parameters (`decode-params fit`) and RNA-seq intron hints."""

from __future__ import annotations

import json
import shutil
import subprocess

import h5py
import numpy as np
import pytest

from helixtune.cli import main
from helixtune.data import example_path
from helixtune.decode import decode_to_gff3
from helixtune.decode.genome_pipeline import cut_points, widen_and_merge
from helixtune.decode.hints import count_junctions
from helixtune.decode.params import DecodeParams
from helixtune.errors import HelixtuneError
from helixtune.annotation.coding_transcripts import read_gene_models

from sharedpaths import require_program

SLICE = "chrI_50001-56000"
# gene SPAC977.10 on the slice (0-based, half-open): CDS [2116, 2240) + [2317, 3600), mRNA to 3858
INTRON = (2240, 2317)


def _genome_of(fasta) -> dict:
    from helixtune.genome.fasta import iter_fasta

    return {name: bytes(seq) for name, seq in iter_fasta(fasta)}


def _introns(gff3) -> set:
    return {(t.seqid, t.strand, s, e) for t in read_gene_models(gff3).transcripts for s, e in t.introns}


@pytest.fixture()
def slice_files(test_data):
    folder = test_data / "decode"
    return folder / "spombe_slice.fa", folder / "spombe_slice.genome.h5", folder / "spombe_slice.bam"


def _neutral_predictions(path, intron_says: float) -> None:
    """Predictions that know the gene's extent but not its intron: CDS over [2116, 3600) with the intron
    class at `intron_says`, UTRs around it, uniform codon phase."""
    n = 6000
    classes = np.zeros((2, n, 4), np.float16)
    phases = np.zeros((2, n, 4), np.float16)
    classes[:, :, 0] = 1
    phases[:, :, 0] = 1
    classes[0, 2000:2116] = [0.1, 0.8, 0.05, 0.05]
    classes[0, 2116:3600] = [0.02, 0.02, 0.96 - intron_says, intron_says]
    phases[0, 2116:3600] = [0.0, 1 / 3, 1 / 3, 1 / 3]
    classes[0, 3600:3858] = [0.1, 0.8, 0.05, 0.05]
    with h5py.File(path, "w") as out:
        out["predictions"] = classes
        out["predictions_phase"] = phases


def test_hints_put_the_intron_exactly_on_the_supported_junction(slice_files, tmp_path):
    fasta, genome, bam = slice_files
    predictions = tmp_path / "predictions.h5"
    _neutral_predictions(predictions, intron_says=0.3)
    params = DecodeParams.load()
    params.emission_weight = 0.3  # fixed here, so the test does not follow the bundled calibration
    plain, hinted = tmp_path / "plain.gff3", tmp_path / "hinted.gff3"
    decode_to_gff3(genome, predictions, plain, decoder="genome", params=params, threads=1, show_progress=False)
    summary = decode_to_gff3(genome, predictions, hinted, decoder="genome", params=params, hints_bam=[bam],
                             strandedness="second_read_is_sense_strand", threads=1, show_progress=False)
    assert summary.hinted_junctions == 3
    # without hints the sequence alone prefers a shorter intron inside the real one ([2266, 2310))
    assert len(_introns(plain)) == 1 and (SLICE, "+", *INTRON) not in _introns(plain)
    assert _introns(hinted) == {(SLICE, "+", *INTRON)}
    # the library's strand matters: read as first-read-sense, the junctions lie on the other strand
    flipped = tmp_path / "flipped.gff3"
    decode_to_gff3(genome, predictions, flipped, decoder="genome", params=params, hints_bam=[bam],
                   strandedness="first_read_is_sense_strand", threads=1, show_progress=False)
    assert flipped.read_text() == plain.read_text()


def test_junction_counts_follow_the_library_strandedness(slice_files):
    _, _, bam = slice_files
    counts = count_junctions([bam], "second_read_is_sense_strand", {SLICE: 6000})
    assert counts[(SLICE, "+")] == {(2240, 2317): 101, (2537, 2590): 9, (2263, 2317): 1}
    assert not counts[(SLICE, "-")]
    swapped = count_junctions([bam], "first_read_is_sense_strand", {SLICE: 6000})
    assert swapped[(SLICE, "-")] == counts[(SLICE, "+")]


def test_bad_hints_bam_gives_one_line_errors(slice_files, tmp_path, capsys):
    fasta, genome, bam = slice_files
    predictions = tmp_path / "predictions.h5"
    _neutral_predictions(predictions, intron_says=0.47)
    unindexed = tmp_path / "unindexed.bam"
    shutil.copy(bam, unindexed)
    out = tmp_path / "out.gff3"
    assert main(["decode", "--decoder", "genome", "--hints-bam", str(unindexed), "--threads", "1",
                 str(genome), str(predictions), str(out)]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "unindexed.bam" in err and "index" in err
    with pytest.raises(HelixtuneError, match="shares no sequence with the genome"):
        count_junctions([bam], "unstranded", {"chrII": 6000})
    with pytest.raises(HelixtuneError, match="6000 bp long but the genome's is 7000"):
        count_junctions([bam], "unstranded", {SLICE: 7000})
    assert not out.exists()


def test_genome_decoder_on_helixerpost_example_finds_the_gene_with_canonical_introns(test_data, tmp_path):
    genome = test_data / "decode" / "example_genome_data.h5"
    predictions = test_data / "decode" / "example_predictions.h5"
    out = tmp_path / "genome.gff3"
    summary = decode_to_gff3(genome, predictions, out, decoder="genome", threads=1, show_progress=False)
    assert summary.decoder == "genome" and summary.genes >= 1
    models = read_gene_models(out)
    # HelixerPost's gene: CDS 17116-17356 + 17707-18305 (1-based), one GT..AG intron [17356, 17706)
    assert ("+", ((17115, 17356), (17706, 18305))) in {(t.strand, t.cds_chain) for t in models.transcripts}
    x = h5py.File(genome)["data/X"][0].astype(np.float32)
    letters = np.array(list("CATG"))[x.argmax(axis=1)]
    for t in models.transcripts:
        assert t.strand == "+"
        for s, e in t.introns:
            assert "".join(letters[s:s + 2]) in ("GT", "GC") and "".join(letters[e - 2:e]) == "AG"


def test_genome_decoder_output_passes_genometools_validator(test_data, tmp_path):
    gt = require_program("gt")
    out = tmp_path / "genome.gff3"
    decode_to_gff3(test_data / "decode" / "fx101_genome.h5", test_data / "decode" / "fx101_predictions.h5", out,
                   decoder="genome", threads=1, show_progress=False)
    result = subprocess.run([gt, "gff3validator", str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_helixerpost_stays_the_default_and_byte_identical(test_data, tmp_path, capsys):
    out = tmp_path / "default.gff3"
    assert main(["decode", str(test_data / "decode" / "example_genome_data.h5"),
                 str(test_data / "decode" / "example_predictions.h5"), str(out)]) == 0
    assert out.read_bytes() == (test_data / "decode" / "example_expected.gff3").read_bytes()


def test_fitted_parameters_give_the_annotation_length_medians_back(tmp_path, capsys):
    gff3, fasta = example_path("spombe_pieces.gff3.gz"), example_path("spombe_pieces.fa.gz")
    out = tmp_path / "params.json"
    assert main(["decode-params", "fit", "--gff3", str(gff3), "--fasta", str(fasta), "-o", str(out)]) == 0
    assert "median intron" in capsys.readouterr().err
    params = DecodeParams.load(out)
    transcripts = read_gene_models(gff3).transcripts
    introns = [e - s for t in transcripts for s, e in t.introns]
    exons = [e - s for t in transcripts for s, e in t.cds]
    assert params.medians["intron"] == float(np.median(introns))
    assert params.medians["cds_exon"] == float(np.median(exons))
    assert params.source["genes"] == len({t.gene_id for t in transcripts})
    assert params.min_intron <= min(introns) and params.max_intron >= max(introns)
    # the length costs are lowest near the median and every annotated intron length is decodable
    costs = np.asarray(params.intron_length_cost)
    best = params.min_intron + int(np.argmin(costs))
    assert abs(best - np.median(introns)) < 0.5 * np.median(introns)
    assert params.motif_fraction["GT-AG"] > 0.95
    # the file round-trips and decodes
    again = DecodeParams.from_json(json.loads(out.read_text()))
    assert again == params


def test_bundled_parameters_load_and_name_their_sources():
    params = DecodeParams.load()
    assert params.source["genes"] > 5000
    names = " ".join(a["gff3"] for a in params.source["annotations"])
    assert "pombe" not in names.lower() and "SP2" not in names  # the evaluation species is not in them
    assert params.allow_noncanonical is False


def test_bad_parameter_files_give_one_line_errors(tmp_path, test_data, capsys):
    genome = test_data / "decode" / "example_genome_data.h5"
    predictions = test_data / "decode" / "example_predictions.h5"
    cases = {"notjson.json": "{not json", "wrong.json": json.dumps({"format": "something else"}),
             "bad.json": json.dumps({**DecodeParams().to_json(), "min_intron": 500, "max_intron": 100})}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        assert main(["decode", "--decoder", "genome", "--params", str(tmp_path / name), str(genome),
                     str(predictions), str(tmp_path / "out.gff3")]) != 0
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and name in err
    assert main(["decode", "--params", str(tmp_path / "bad.json"), str(genome), str(predictions),
                 str(tmp_path / "out.gff3")]) != 0
    assert "need --decoder genome" in capsys.readouterr().err
    assert not (tmp_path / "out.gff3").exists()


def test_long_regions_are_cut_at_their_least_genic_point():
    genic = np.ones(1000)
    genic[600:700] = 0.0
    cuts = cut_points(genic, 800, 50)
    assert len(cuts) == 1 and 600 <= cuts[0] < 700
    assert widen_and_merge([(100, 200), (350, 400), (900, 950)], 100, 1000) == [(0, 500), (800, 1000)]


def test_region_cap_keeps_the_decode_working(test_data, tmp_path):
    params = DecodeParams.load()
    params.max_region_length = 10_000
    out = tmp_path / "capped.gff3"
    summary = decode_to_gff3(test_data / "decode" / "fx101_genome.h5", test_data / "decode" / "fx101_predictions.h5",
                             out, decoder="genome", params=params, threads=1, show_progress=False)
    assert summary.split_regions > 0 and summary.genes > 0


def test_annotate_decodes_with_the_genome_decoder_on_request(test_data, tmp_path, capsys):
    data = test_data / "pseudolabel"
    out = tmp_path / "genome.gff3"
    assert main(["annotate", "--fasta", str(data / "spombe_chrI_200000-240000.fa"), "-l",
                 str(data / "spombe_small_base.safetensors"), "-o", str(out), "--species", "Spombe",
                 "--subsequence-length", "9990", "--threads", "1", "--decoder", "genome"]) == 0
    assert "genes" in capsys.readouterr().err
    models = read_gene_models(out)
    genome = _genome_of(data / "spombe_chrI_200000-240000.fa")
    assert models.transcripts
    for t in models.transcripts:
        for motif in t.splice_motifs(genome[t.seqid]):
            assert motif in (b"GTAG", b"GCAG")


def test_fit_calibrates_the_emission_weight_against_a_models_predictions(test_data, tmp_path, capsys):
    data = test_data / "pseudolabel"
    fasta, gff3 = data / "spombe_chrI_200000-240000.fa", data / "spombe_chrI_200000-240000.reference.gff3"
    genome_h5, predictions = tmp_path / "genome.h5", tmp_path / "predictions.h5"
    assert main(["encode", "--fasta-path", str(fasta), "--h5-output-path", str(genome_h5), "--species", "Spombe",
                 "--subsequence-length", "9990"]) == 0
    assert main(["predict", "-l", str(data / "spombe_small_base.safetensors"), "-t", str(genome_h5), "-p",
                 str(predictions), "--threads", "1"]) == 0
    out = tmp_path / "params.json"
    assert main(["decode-params", "fit", "--gff3", str(example_path("spombe_pieces.gff3.gz")),
                 "--fasta", str(example_path("spombe_pieces.fa.gz")), "--predictions", str(predictions),
                 "--genome-h5", str(genome_h5), "--calibration-gff3", str(gff3), "--calibration-fasta", str(fasta),
                 "--threads", "1", "-o", str(out)]) == 0
    params = DecodeParams.load(out)
    grid = params.source["calibration"]["grid"]
    assert len(grid) == 5
    best = max(grid, key=lambda g: (g["gene_f1"], g["cds_exon_f1"]))
    assert params.emission_weight == best["emission_weight"]
    # the statistics come from the --gff3 annotation only, not from the calibration genome
    assert [a["gff3"] for a in params.source["annotations"]] == ["spombe_pieces.gff3.gz"]
    capsys.readouterr()
    assert main(["decode-params", "fit", "--gff3", str(gff3), "--fasta", str(fasta), "--predictions",
                 str(predictions), "-o", str(tmp_path / "x.json")]) != 0
    assert "--predictions needs --genome-h5" in capsys.readouterr().err


def test_calibration_grid_names_calibrated_settings_and_pairs_the_files(tmp_path, capsys):
    from helixtune.decode.calibrate import PEAKS, WEIGHTS, parse_grid

    grid = parse_grid(["splice_weight=1,2", "emission_weight=0.03"])
    assert grid == {"emission_weight": (0.03,), "peak_threshold": PEAKS, "splice_weight": (1.0, 2.0)}
    assert parse_grid(None) == {"emission_weight": WEIGHTS, "peak_threshold": PEAKS}
    for bad, message in (("min_intron=20", "not a calibrated setting"), ("splice_weight=a", "must be numbers"),
                         ("splice_weight=", "no values")):
        with pytest.raises(HelixtuneError, match=message):
            parse_grid([bad])
    gff3, fasta = str(example_path("spombe_pieces.gff3.gz")), str(example_path("spombe_pieces.fa.gz"))
    for extra, message in ((["--predictions", "a.h5", "b.h5", "--genome-h5", "a.h5"], "--genome-h5 1"),
                           (["--grid", "splice_weight=1"], "--grid needs --predictions"),
                           (["--predictions", "a.h5", "b.h5", "--genome-h5", "a.h5", "b.h5"], "--gff3 only 1")):
        assert main(["decode-params", "fit", "--gff3", gff3, "--fasta", fasta, "-o", str(tmp_path / "p.json"),
                     *extra]) != 0
        assert message in capsys.readouterr().err
    assert not (tmp_path / "p.json").exists()


def test_splice_sites_are_read_in_the_sequence_and_ns_match_none(slice_files, tmp_path):
    _, genome, bam = slice_files
    predictions = tmp_path / "predictions.h5"
    _neutral_predictions(predictions, intron_says=0.3)
    masked = tmp_path / "masked.h5"
    shutil.copy(genome, masked)
    with h5py.File(masked, "r+") as h5:
        x = h5["data/X"][0]
        x[INTRON[0]:INTRON[0] + 2] = 0.25  # the donor's GT becomes NN
        h5["data/X"][0] = x
    params = DecodeParams.load()
    params.emission_weight = 0.3
    out = tmp_path / "masked.gff3"
    decode_to_gff3(masked, predictions, out, decoder="genome", params=params, hints_bam=[bam],
                   strandedness="second_read_is_sense_strand", threads=1, show_progress=False)
    introns = _introns(out)
    assert introns and (SLICE, "+", *INTRON) not in introns
    assert all(s != INTRON[0] for _, _, s, _ in introns)


def test_decoder_choice_reaches_annotate_and_self_train_options():
    from helixtune.cli import build_parser
    from helixtune.decode.options import DecodeOptions

    # the default keywords are those recorded before the decoder could be chosen (pipeline step keys match)
    assert DecodeOptions().keywords() == {"window_size": 100, "edge_threshold": 0.1, "peak_threshold": 0.8,
                                          "min_coding_length": 100}
    assert DecodeOptions(decoder="genome", params="p.json").keywords()["decoder"] == "genome"
    args = build_parser().parse_args(["self-train", "--fasta", "g.fa", "-l", "m.safetensors", "--out", "o",
                                      "--decoder", "genome", "--params", "p.json"])
    assert (args.decoder, args.decode_params) == ("genome", "p.json")
