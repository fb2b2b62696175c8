"""A sanity panel for one annotation: counts and sequence checks that catch broken gene models.

Without the genome only the counts are given; with it, the splice sites, start/stop codons and
in-frame stop codons are checked on the coding sequence (5' GFF phase honoured).
"""

from __future__ import annotations

import numpy as np

from helixtune.annotation.coding_transcripts import GeneModels
from helixtune.genome.codons import START_CODON, STOP_CODONS, codons


def sanity_panel(models: GeneModels, genome: dict | None = None) -> dict:
    transcripts = models.transcripts
    cds_lengths = [e - s for t in transcripts for s, e in t.cds]
    panel = {
        "genes": len(models.genes),
        "transcripts": len(transcripts),
        "cds_exons": len(cds_lengths),
        "cds_exons_shorter_than_4bp": int(sum(n < 4 for n in cds_lengths)),
        "single_cds_exon_transcripts": int(sum(len(t.cds) == 1 for t in transcripts)),
        "coding_length_not_multiple_of_3": int(sum((t.coding_length - t.five_prime_phase) % 3 != 0
                                                   for t in transcripts)),
        "stop_codon_normalisation": models.stop_codon_normalisation,
    }
    if genome is None:
        return panel
    checked = [t for t in transcripts if t.seqid in genome]
    n_introns = n_gt_ag = n_gc_ag = n_at_ac = 0
    n_start = n_stop = n_inframe = 0
    for t in checked:
        for motif in t.splice_motifs(genome[t.seqid]):
            n_introns += 1
            n_gt_ag += motif == b"GTAG"
            n_gc_ag += motif == b"GCAG"
            n_at_ac += motif == b"ATAC"
        coding = t.coding_sequence(genome)[t.five_prime_phase:]
        in_frame = codons(coding)
        n_start += t.five_prime_phase == 0 and coding[:3] == START_CODON
        n_stop += bool(in_frame) and in_frame[-1] in STOP_CODONS
        n_inframe += any(c in STOP_CODONS for c in in_frame[:-1])
    panel.update({
        "transcripts_checked_against_genome": len(checked),
        "introns": n_introns,
        "canonical_splice_site_fraction": n_gt_ag / n_introns if n_introns else None,  # GT..AG
        "gc_ag_splice_site_fraction": n_gc_ag / n_introns if n_introns else None,
        "at_ac_splice_site_fraction": n_at_ac / n_introns if n_introns else None,
        "start_with_atg_fraction": n_start / len(checked) if checked else None,
        "end_with_stop_fraction": n_stop / len(checked) if checked else None,
        "transcripts_with_in_frame_stop": int(n_inframe),
    })
    return panel


def length_distributions(models: GeneModels) -> dict:
    """Arrays for the report's length plots."""
    return {
        "cds_exon": np.array([e - s for t in models.transcripts for s, e in t.cds], dtype=np.int64),
        "intron": np.array([e - s for t in models.transcripts for s, e in t.introns], dtype=np.int64),
        "coding_length": np.array([t.coding_length for t in models.transcripts], dtype=np.int64),
    }
