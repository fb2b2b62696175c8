"""`helixtune evaluate` on hand-built cases with known answers, on real data, and end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sharedpaths import shared_file
from helixtune.cli import main
from helixtune.evaluate.basewise import BasewiseMetrics, pooled_mask
from helixtune.evaluate.compare import evaluate

SEQ_LENGTH = 2000


def _genome(tmp_path, seq: str | None = None):
    rng = np.random.default_rng(1)
    seq = seq or "".join(rng.choice(list("ACGT"), SEQ_LENGTH))
    path = tmp_path / "genome.fa"
    path.write_text(">chr1\n" + "\n".join(seq[i:i + 60] for i in range(0, len(seq), 60)) + "\n")
    return path


def _gff(tmp_path, name: str, genes: list) -> str:
    """genes: (gene_id, strand, [(cds_start, cds_end) 1-based inclusive], extra feature lines)."""
    lines = ["##gff-version 3"]
    for gene_id, strand, cds, *extra in genes:
        lo, hi = min(s for s, _ in cds), max(e for _, e in cds)
        lines.append(f"chr1\tt\tgene\t{lo}\t{hi}\t.\t{strand}\t.\tID={gene_id}")
        lines.append(f"chr1\tt\tmRNA\t{lo}\t{hi}\t.\t{strand}\t.\tID={gene_id}.t;Parent={gene_id}")
        for s, e in cds:
            lines.append(f"chr1\tt\tCDS\t{s}\t{e}\t.\t{strand}\t0\tParent={gene_id}.t")
        for line in (extra[0] if extra else []):
            lines.append(line.replace("PARENT", f"{gene_id}.t"))
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return str(path)


REFERENCE = [("g1", "+", [(101, 200), (301, 400)]),
             ("g2", "-", [(601, 900)]),
             ("g3", "+", [(1101, 1200), (1301, 1350), (1401, 1500)])]


def _scores(result, level):
    s = result["features"][level]
    return s["matched_reference"], s["reference"], s["matched_predicted"], s["predicted"]


def test_identical_files_score_perfectly(tmp_path):
    ref = _gff(tmp_path, "ref.gff3", REFERENCE)
    result = evaluate(ref, ref, fasta=_genome(tmp_path))
    for level, s in result["features"].items():
        assert s["sensitivity"] == s["precision"] == s["f1"] == 1.0, level
    summary = result["basewise"]["summary"]
    assert summary["genic_f1"] == summary["cds_f1"] == summary["intron_f1"] == summary["phase_f1"] == 1.0
    assert summary["bases"] == 2 * SEQ_LENGTH
    cm = np.array(result["basewise"]["genic_base_wise"]["confusion_matrix"])
    assert (cm == np.diag(np.diag(cm))).all()
    # 100+100+300+100+50+100 CDS bases; introns 100+100+50
    assert np.diag(cm).tolist() == [2 * SEQ_LENGTH - 750 - 250, 0, 750, 250]


def test_shifted_exon(tmp_path):
    ref = _gff(tmp_path, "ref.gff3", REFERENCE)
    pred = _gff(tmp_path, "pred.gff3", [("g1", "+", [(101, 200), (311, 410)])] + REFERENCE[1:])
    result = evaluate(ref, pred)
    assert _scores(result, "cds_exon") == (5, 6, 5, 6)
    assert _scores(result, "intron") == (2, 3, 2, 3)
    assert _scores(result, "intron_chain") == (1, 2, 1, 2)
    assert _scores(result, "transcript") == (2, 3, 2, 3)
    assert _scores(result, "gene") == (2, 3, 2, 3)
    assert _scores(result, "cds_base") == (740, 750, 740, 750)
    assert result["features"]["gene"]["f1"] == pytest.approx(2 / 3)
    # base-wise: 10 CDS bases became intron (301..310) and 10 intergenic became CDS (401..410)
    cm = np.array(result["basewise"]["genic_base_wise"]["confusion_matrix"])
    assert cm[2, 3] == 10 and cm[0, 2] == 10 and cm[3, 2] == 0


def test_missed_intron(tmp_path):
    ref = _gff(tmp_path, "ref.gff3", REFERENCE)
    pred = _gff(tmp_path, "pred.gff3", REFERENCE[:2] + [("g3", "+", [(1101, 1350), (1401, 1500)])])
    result = evaluate(ref, pred)
    assert _scores(result, "cds_exon") == (4, 6, 4, 5)
    assert _scores(result, "intron") == (2, 3, 2, 2)
    assert _scores(result, "intron_chain") == (1, 2, 1, 2)
    assert _scores(result, "transcript") == (2, 3, 2, 3)
    assert _scores(result, "cds_base") == (750, 750, 750, 850)
    cm = np.array(result["basewise"]["genic_base_wise"]["confusion_matrix"])
    assert cm[3, 2] == 100 and cm[3, 3] == 150
    scores = result["basewise"]["genic_base_wise"]["scores"]
    assert scores["intron"]["recall"] == pytest.approx(150 / 250)
    assert scores["intron"]["precision"] == 1.0
    assert scores["exon"]["precision"] == pytest.approx(750 / 850)
    # genes by CDS introns: g3 (2 introns) lost one, so it is missed in class 2 and a wrong call in class 1
    by_introns = {k: (s["matched_reference"], s["reference"], s["matched_predicted"], s["predicted"])
                  for k, s in result["genes_by_introns"].items()}
    assert by_introns == {"0": (1, 1, 1, 1), "1": (1, 1, 1, 2), "2": (0, 1, 0, 0), "3+": (0, 0, 0, 0)}
    assert result["genes_by_introns"]["1"]["f1"] == pytest.approx(2 * 1 * 0.5 / 1.5)


def test_extra_gene(tmp_path):
    ref = _gff(tmp_path, "ref.gff3", REFERENCE)
    pred = _gff(tmp_path, "pred.gff3", REFERENCE + [("g4", "+", [(1701, 1800)])])
    result = evaluate(ref, pred)
    assert _scores(result, "gene") == (3, 3, 3, 4)
    assert result["features"]["gene"]["precision"] == 0.75 and result["features"]["gene"]["sensitivity"] == 1.0
    assert _scores(result, "cds_exon") == (6, 6, 6, 7)
    assert _scores(result, "intron") == (3, 3, 3, 3)
    cm = np.array(result["basewise"]["genic_base_wise"]["confusion_matrix"])
    assert cm[0, 2] == 100 and cm.sum() - np.trace(cm) == 100


def test_wrong_strand(tmp_path):
    ref = _gff(tmp_path, "ref.gff3", REFERENCE)
    pred = _gff(tmp_path, "pred.gff3", [REFERENCE[0], ("g2", "+", [(601, 900)]), REFERENCE[2]])
    result = evaluate(ref, pred)
    assert _scores(result, "cds_exon") == (5, 6, 5, 6)
    assert _scores(result, "gene") == (2, 3, 2, 3)
    assert _scores(result, "cds_base") == (450, 750, 450, 750)
    cm = np.array(result["basewise"]["genic_base_wise"]["confusion_matrix"])
    # minus strand: 300 CDS bases missed; plus strand: 300 intergenic bases called CDS
    assert cm[2, 0] == 300 and cm[0, 2] == 300


def test_stop_codon_normalisation(tmp_path):
    # ATG GCC x8 TAA at 1-based 11..40; the reference includes the stop, the prediction does not
    seq = "C" * 10 + "ATG" + "GCC" * 8 + "TAA" + "C" * 260
    genome = _genome(tmp_path, seq)
    ref = _gff(tmp_path, "ref.gff3", [("g1", "+", [(11, 40)])])
    pred = _gff(tmp_path, "pred.gff3", [("g1", "+", [(11, 37)])])
    as_is = evaluate(ref, pred, fasta=genome, stop_codons="as-is")
    assert as_is["features"]["cds_exon"]["f1"] == 0.0
    normalised = evaluate(ref, pred, fasta=genome)
    assert normalised["features"]["cds_exon"]["f1"] == 1.0
    assert "extended" in normalised["prediction"]["stop_codons"]
    assert normalised["sanity"]["prediction"]["end_with_stop_fraction"] == 1.0
    # AUGUSTUS style: an explicit stop_codon feature outside the CDS, no genome needed
    pred2 = _gff(tmp_path, "pred2.gff3", [("g1", "+", [(11, 37)], ["chr1\tt\tstop_codon\t38\t40\t.\t+\t0\tParent=PARENT"])])
    assert evaluate(ref, pred2)["features"]["transcript"]["f1"] == 1.0


def test_sanity_panel_counts(tmp_path):
    # GT..AG intron between two CDS parts, and one in-frame stop (TGA) in a second gene
    seq = list("C" * 400)
    seq[10:13] = "ATG"
    seq[20:22] = "GT"
    seq[48:50] = "AG"
    seq[80:83] = "TAA"
    seq[200:203] = "ATG"
    seq[203:206] = "TGA"
    seq[230:233] = "TAG"
    genome = _genome(tmp_path, "".join(seq))
    ann = _gff(tmp_path, "a.gff3", [("g1", "+", [(11, 20), (51, 83)]), ("g2", "+", [(201, 233)]),
                                    ("g3", "+", [(301, 302)])])
    panel = evaluate(ann, ann, fasta=genome)["sanity"]["reference"]
    assert panel["genes"] == 3 and panel["cds_exons"] == 4 and panel["cds_exons_shorter_than_4bp"] == 1
    assert panel["introns"] == 1 and panel["canonical_splice_site_fraction"] == 1.0
    assert panel["transcripts_with_in_frame_stop"] == 1


def test_regions_restrict_both_levels(tmp_path):
    ref = _gff(tmp_path, "ref.gff3", REFERENCE)
    pred = _gff(tmp_path, "pred.gff3", [("g1", "+", [(101, 200), (311, 410)])] + REFERENCE[1:])
    result = evaluate(ref, pred, fasta=_genome(tmp_path), sequences=["chr1:1001-2000"])
    assert result["features"]["gene"]["f1"] == 1.0 and result["features"]["gene"]["reference"] == 1
    assert result["basewise"]["summary"]["bases"] == 2 * 1000
    assert result["basewise"]["summary"]["genic_f1"] == 1.0


# ---- real data -----------------------------------------------------------------------------------------

def test_gff_labels_equal_upstream_export(test_data):
    """Labels built from the GFF3 equal upstream geenuff2h5's y and phases wherever upstream's mask
    keeps a base (both strands, padded chunks included), in both directions."""
    gff = test_data / "micromonas" / "mini_test_data.gff"
    h5 = test_data / "micromonas" / "micromonas_mini.geenuff2h5.h5"
    for ref, pred in ((gff, h5), (h5, gff)):
        result = evaluate(ref, pred, fasta=test_data / "micromonas" / "mini_test_data.fa")
        for key in ("genic_base_wise", "phase_base_wise"):
            cm = np.array(result["basewise"][key]["confusion_matrix"])
            assert (cm == np.diag(np.diag(cm))).all(), key
            assert (np.diag(cm) > 0).all()
        assert result["basewise"]["summary"]["bases"] == 353556


def test_cli_end_to_end_writes_json_and_report(test_data, tmp_path, capsys):
    gff = str(test_data / "micromonas" / "mini_test_data.gff")
    out_json = tmp_path / "m.json"
    status = main(["evaluate", "-r", gff, "-p", gff, "--fasta", str(test_data / "micromonas" / "mini_test_data.fa"),
                   "--json", str(out_json), "--report", str(tmp_path / "rep"), "--loci", "2"])
    assert status == 0
    printed = capsys.readouterr().out
    assert "genic (UTR+CDS+intron) | 1.0000" in printed and "gffcompare-style" in printed
    data = json.loads(out_json.read_text())
    assert data["features"]["gene"]["f1"] == 1.0 and data["sanity"]["reference"]["genes"] == 124
    for name in ("report.html", "metrics.json", "scores.png", "confusion.png", "lengths.png", "locus_1.png"):
        assert (tmp_path / "rep" / name).stat().st_size > 0, name
    assert "locus_2.png" in (tmp_path / "rep" / "report.html").read_text()


def test_bad_input_is_one_line_error_without_output(test_data, tmp_path, capsys):
    bad = tmp_path / "bad.gff3"
    bad.write_text("##gff-version 3\nchr1\tt\tCDS\t10\t5\t.\t+\t0\tParent=x\n")
    out_json = tmp_path / "m.json"
    status = main(["evaluate", "-r", str(test_data / "micromonas" / "mini_test_data.gff"), "-p", str(bad),
                   "--json", str(out_json)])
    assert status == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bad.gff3, line 2" in err
    assert not out_json.exists()


# ---- shared data: S. pombe peers, upstream predictions -------------------------------------------------

@pytest.mark.shared
@pytest.mark.parametrize("peer, expected", [
    # independent figures on the whole chromosome I, stop codon inside the CDS (exact CDS chains per gene)
    ("spombe_chrI.geneml_1.3.1.gff3", {"gene": 0.796, "cds_exon": 0.847, "intron": 0.854, "cds_base": 0.985}),
    ("spombe_chrI.augustus_3.5.gff3", {"gene": 0.790, "cds_exon": 0.851, "intron": 0.887, "cds_base": 0.985}),
    ("spombe_chrI.helixerpost_on_reference_labels.gff3", {"gene": 0.9175, "cds_exon": 0.948, "intron": 0.9065}),
])
def test_spombe_peers_agree_with_independent_figures(peer, expected):
    reference = shared_file("schizosaccharomyces_pombe/SP2.chrI.derived.gff3")
    result = evaluate(reference, shared_file(f"reference_outputs/{peer}"),
                      fasta=shared_file("schizosaccharomyces_pombe/SP2.chr.fa.gz"))
    for level, value in expected.items():
        assert result["features"][level]["f1"] == pytest.approx(value, abs=0.001), level


@pytest.mark.shared
def test_augustus_without_normalisation_loses_every_terminal_exon():
    result = evaluate(shared_file("schizosaccharomyces_pombe/SP2.chrI.derived.gff3"),
                      shared_file("reference_outputs/spombe_chrI.augustus_3.5.gff3"), stop_codons="as-is")
    assert result["features"]["cds_exon"]["f1"] == pytest.approx(0.416, abs=0.001)
    assert result["features"]["gene"]["f1"] == 0.0


@pytest.mark.shared
def test_predictions_h5_in_genome_coordinates_equal_chunkwise_metrics(test_data):
    """Stitching an upstream (0.3.6 layout) predictions file into genome coordinates counts exactly
    what upstream's chunk-wise metrics count on the same rows."""
    import h5py

    from helixtune.h5layout import rotate_minus_padding_first

    labels = test_data / "micromonas" / "micromonas_mini.geenuff2h5.h5"
    predictions = shared_file("reference_models/small_default.predictions.h5")
    result = evaluate(labels, predictions)  # an upstream file: auto means padding first
    assert result["prediction"]["padded_minus_layout"] == "helixer-0.3.6"
    misread = evaluate(labels, predictions, padded_minus="genome")
    with h5py.File(labels) as lab, h5py.File(predictions) as pred:
        se = lab["data/start_ends"][:]
        chunkwise = BasewiseMetrics()
        chunkwise.update(rotate_minus_padding_first(lab["data/y"][:], se), pred["predictions"][:],
                         pooled_mask(rotate_minus_padding_first(lab["data/sample_weights"][:], se), 9),
                         rotate_minus_padding_first(lab["data/phases"][:], se), pred["predictions_phase"][:])
    assert result["basewise"]["genic_base_wise"]["confusion_matrix"] == chunkwise.genic.cm.astype(int).tolist()
    assert result["basewise"]["phase_base_wise"]["confusion_matrix"] == chunkwise.phase.cm.astype(int).tolist()
    assert misread["basewise"]["genic_base_wise"]["confusion_matrix"] != chunkwise.genic.cm.astype(int).tolist()


def test_predictions_file_made_from_labels_scores_perfectly(test_data, tmp_path):
    """A predictions h5 holding the labels themselves (genome layout, as helixtune predict writes it)
    must score 1.0; read with the wrong layout it must not."""
    import h5py

    labels = test_data / "micromonas" / "micromonas_mini.geenuff2h5.h5"
    predictions = tmp_path / "predictions.h5"
    with h5py.File(labels) as lab, h5py.File(predictions, "w") as out:
        y = lab["data/y"][:].astype(np.float16)
        y[..., 0][y.sum(-1) == 0] = 1  # padding: intergenic
        phases = lab["data/phases"][:].astype(np.float16)
        phases[..., 0][phases.sum(-1) == 0] = 1
        out["predictions"] = y
        out["predictions_phase"] = phases
        out.attrs["padded_minus_layout"] = "genome"
    result = evaluate(labels, predictions)  # rows described by the reference h5's start_ends
    assert result["prediction"]["coordinates_from"] == str(labels)
    assert result["basewise"]["summary"]["genic_f1"] == 1.0 and result["basewise"]["summary"]["phase_f1"] == 1.0
    misread = evaluate(labels, predictions, padded_minus="helixer-0.3.6")
    assert misread["basewise"]["summary"]["genic_f1"] < 1.0
