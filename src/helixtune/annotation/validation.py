"""Gene-model error detection (upstream GeenuFF's "clean" step), per sequence and strand.

Each detected problem becomes an error feature attached to the transcript being checked; the label
export sets `sample_weights` to 0 over it. Errors that "extend away from a gene" (missing UTR, missing
start/stop codon, wrong phase, ...) run to a mark between this gene and its neighbour on the strand:
for a gap of d bases, `min(d // 2, floor(sqrt(d)) * 10)` past the gene line's end (or to the sequence
edge when there is no neighbour). The checks, per coding transcript, in upstream's order:

1. CDS starts at the transcript start           -> missing_utr_5p (5' of the CDS)
2. CDS ends at the transcript end               -> missing_utr_3p (3' of the CDS)
3. no ATG at the CDS start                      -> missing_start_codon (5')
4. no TAA/TAG/TGA ending at the CDS end         -> missing_stop_codon (3')
5. phase of the 5'-most CDS line is not 0       -> wrong_starting_phase (5')
6. overlap with the previous gene on the strand -> super_loci_overlap_error, or for nested genes the
                                                   missing-UTR errors of this transcript are dropped
7. phase of the 3'-most CDS line does not fit the length of the last coding exon
                                                -> mismatched_ending_phase (3')
8. overlapping exons                            -> overlapping_exons (between the neighbouring introns)
9. intron shorter than `min_intron_length`      -> too_short_intron (the intron)
10. intron touching the transcript start/end    -> truncated_intron (5'/3' of it)
plus `missmatching_strands` over a gene with parts on both strands, and (helixtune's own) `partial_gene`
over a gene marked `partial=true` whose coding sequence is incomplete (no start or no stop codon: a contig
end cuts it), so that it is not taught as a complete gene. RefSeq also marks genes partial whose UTRs
alone are unknown; their complete CDS stays labelled, as upstream does. Errors that end up running backwards (from
overlapping genes) are removed at the end.

In a genome that annotates no UTRs (`utr_annotated=False`: under 5 % of its coding transcripts have one), checks 1 and 2 are skipped: there every
gene would "miss" its UTRs and upstream's rule would mask nearly all intergenic sequence. The training
loss instead lets such a genome's intergenic labels stand for "intergenic or UTR" (docs/training.md).
"""

from __future__ import annotations

import logging
import math

from helixtune.annotation.geenuff_models import Feature, GeneModel, TranscriptModel
from helixtune.genome.codons import START_CODON, START_CODON_MINUS, STOP_CODONS, STOP_CODONS_MINUS

log = logging.getLogger("helixtune.annotation")

MISSING_UTR_5P = "missing_utr_5p"
MISSING_UTR_3P = "missing_utr_3p"
EMPTY_SUPER_LOCUS = "empty_super_locus"
MISSING_START_CODON = "missing_start_codon"
MISSING_STOP_CODON = "missing_stop_codon"
WRONG_PHASE_5P = "wrong_starting_phase"
MISMATCHED_PHASE_3P = "mismatched_ending_phase"
OVERLAPPING_EXONS = "overlapping_exons"
TOO_SHORT_INTRON = "too_short_intron"
SL_OVERLAP_ERROR = "super_loci_overlap_error"
MISMATCHING_STRANDS = "missmatching_strands"  # sic, upstream's spelling (stored in databases)
TRUNCATED_INTRON = "truncated_intron"
PARTIAL_GENE = "partial_gene"
ERROR_TYPES = (MISSING_UTR_5P, MISSING_UTR_3P, EMPTY_SUPER_LOCUS, MISSING_START_CODON, MISSING_STOP_CODON,
               WRONG_PHASE_5P, MISMATCHED_PHASE_3P, OVERLAPPING_EXONS, TOO_SHORT_INTRON, SL_OVERLAP_ERROR,
               MISMATCHING_STRANDS, TRUNCATED_INTRON, PARTIAL_GENE)

DEFAULT_MIN_INTRON_LENGTH = 20


def has_start_codon(sequence: bytes, start: int, plus: bool) -> bool:
    # Python slicing on purpose: upstream reads codons this way, including its quirk near base 0
    if plus:
        return sequence[start:start + 3] == START_CODON
    return sequence[start - 2:start + 1] == START_CODON_MINUS


def has_stop_codon(sequence: bytes, end: int, plus: bool) -> bool:
    if plus:
        return sequence[end - 3:end] in STOP_CODONS
    return sequence[end + 1:end + 4] in STOP_CODONS_MINUS


def _offset(distance: int) -> int:
    if distance <= 0:
        return 0  # nested or touching genes
    return min(distance // 2, int(math.sqrt(distance)) * 10)


class StrandChecker:
    """Runs the checks over the genes of one strand of one sequence, sorted 5'->3'."""

    def __init__(self, genes: list[GeneModel], plus: bool, seqid: str, sequence: bytes, min_intron_length: int,
                 utr_annotated: bool = True, mask_partial: bool = True):
        self.plus = plus
        self.utr_annotated = utr_annotated
        self.mask_partial = mask_partial
        self.seqid = seqid
        self.sequence = sequence
        self.length = len(sequence)
        self.min_intron_length = min_intron_length
        # stable sorts, as upstream: plus by start; minus by descending start, ties in reversed file order
        if plus:
            self.genes = sorted(genes, key=lambda g: g.start)
        else:
            self.genes = sorted(genes[::-1], key=lambda g: g.start, reverse=True)

    # -- neighbourhood --------------------------------------------------------------------------------
    def _mark(self, gene: GeneModel, next_gene: GeneModel) -> int:
        if self.plus:
            return gene.end + _offset(next_gene.start - gene.end)
        return gene.end - _offset(gene.end - next_gene.start)

    @staticmethod
    def _errors_of(gene: GeneModel) -> list[Feature]:
        return [e for t in gene.transcripts for e in t.errors]

    def neighbour_status(self, prev: GeneModel, cur: GeneModel) -> str:
        overlap = prev.end > cur.start if self.plus else prev.end < cur.start
        if not overlap:
            return "normal"
        nested = prev.end > cur.end if self.plus else prev.end < cur.end
        if nested:
            types = {e.type for e in self._errors_of(cur)}
            if MISSING_UTR_3P in types and MISSING_UTR_5P in types:
                return "nested_error_both"
            if MISSING_UTR_3P in types:
                return "nested_error_3p"
            if MISSING_UTR_5P in types:
                return "nested_error_5p"
            return "nested"
        status = "overlap"
        if any(e.type == MISSING_UTR_3P for e in self._errors_of(prev)):
            status = "overlap_error_5p"
        if any(e.type == MISSING_UTR_5P for e in self._errors_of(cur)):
            status = "overlap_error_3p" if status == "overlap" else "overlap_error_both"
        return status

    # -- adding errors --------------------------------------------------------------------------------
    def _add_error(self, i: int, transcript: TranscriptModel, start: int, end: int, error_type: str) -> None:
        transcript.errors.append(Feature(error_type, start, end, self.plus))
        strand = "plus" if self.plus else "minus"
        log.warning(f"marked as erroneous: seqid: {self.seqid}, {start}--{end}:{self.genes[i].name}, "
                    f"on {strand} strand, with type: {error_type}")

    def _add_extending_error(self, i: int, transcript: TranscriptModel, handler, direction: str, error_type: str,
                             skip_overlapping: bool = False, also_mark: tuple = ()) -> None:
        """An error from `handler` to the mark towards the neighbouring gene in `direction` ('5p'/'3p')."""
        j = i
        if direction == "5p":
            if skip_overlapping:
                while j > 0 and self.neighbour_status(self.genes[j - 1], self.genes[j]) != "normal":
                    j -= 1
            if j > 0:
                anchor = self._mark(self.genes[j - 1], self.genes[j])
            else:
                anchor = 0 if self.plus else self.length
            start, end = anchor, handler.start
            for h in (handler,) + also_mark:
                if isinstance(h, Feature):
                    h.start_is_biological_start = False
            edge = 0 if self.plus else self.length - 1
        else:
            if skip_overlapping:
                while (j < len(self.genes) - 1
                       and self.neighbour_status(self.genes[j], self.genes[j + 1]) != "normal"):
                    j += 1
            if j < len(self.genes) - 1:
                anchor = self._mark(self.genes[j], self.genes[j + 1])
            else:
                anchor = self.length if self.plus else -1
            start, end = handler.end, anchor
            for h in (handler,) + also_mark:
                if isinstance(h, Feature):
                    h.end_is_biological_end = False
            edge = self.length if self.plus else -1
        if start == end == edge:
            return  # zero-length error at the sequence edge
        self._add_error(i, transcript, start, end, error_type)

    # -- the checks -----------------------------------------------------------------------------------
    def _3p_cds_start(self, transcript: TranscriptModel) -> int:
        cds = transcript.cds
        ends = [x.end for x in transcript.introns]
        if self.plus:
            inside = [e for e in ends if cds.start < e < cds.end]
            return max(inside) if inside else cds.start
        inside = [e for e in ends if cds.end < e < cds.start]
        return min(inside) if inside else cds.start

    def run(self) -> None:
        for i, gene in enumerate(self.genes):
            if gene.fully_erroneous:
                if gene.transcripts:
                    self._add_error(i, gene.transcripts[0], gene.start, gene.end, MISMATCHING_STRANDS)
                continue
            if not gene.transcripts:
                log.error(f"{gene.name} is a gene without any transcripts. This will not be masked.")
            elif gene.partial and self.mask_partial and self._cds_incomplete(gene):
                self._add_error(i, gene.transcripts[0], gene.start, gene.end, PARTIAL_GENE)
            for transcript in gene.transcripts:
                if transcript.cds is not None:
                    self._check_transcript(i, gene, transcript)
        removed = 0
        for gene in self.genes:
            for transcript in gene.transcripts:
                kept = [e for e in transcript.errors
                        if not ((self.plus and e.end < e.start) or (not self.plus and e.end > e.start))]
                removed += len(transcript.errors) - len(kept)
                transcript.errors = kept
        if removed:
            log.info(f"removed {removed} backwards error(s) from overlapping super loci: seqid: {self.seqid}")

    def _cds_incomplete(self, gene: GeneModel) -> bool:
        return any(t.cds is not None and not (has_start_codon(self.sequence, t.cds.start, self.plus)
                                              and has_stop_codon(self.sequence, t.cds.end, self.plus))
                   for t in gene.transcripts)

    def _check_transcript(self, i: int, gene: GeneModel, transcript: TranscriptModel) -> None:
        cds, tf = transcript.cds, transcript.feature
        if cds.start == tf.start and self.utr_annotated:
            self._add_extending_error(i, transcript, cds, "5p", MISSING_UTR_5P, also_mark=(tf,))
        if cds.end == tf.end and self.utr_annotated:
            self._add_extending_error(i, transcript, cds, "3p", MISSING_UTR_3P, also_mark=(tf,))
        if not has_start_codon(self.sequence, cds.start, self.plus):
            self._add_extending_error(i, transcript, cds, "5p", MISSING_START_CODON)
        if not has_stop_codon(self.sequence, cds.end, self.plus):
            self._add_extending_error(i, transcript, cds, "3p", MISSING_STOP_CODON)
        if cds.phase != 0:
            self._add_extending_error(i, transcript, cds, "5p", WRONG_PHASE_5P)

        if i > 0:
            prev = self.genes[i - 1]
            status = self.neighbour_status(prev, gene)
            if status in ("overlap_error_5p", "overlap_error_both"):
                self._add_extending_error(i, transcript, prev, "3p", SL_OVERLAP_ERROR, skip_overlapping=True)
            elif status == "overlap_error_3p":
                self._add_extending_error(i, transcript, gene, "5p", SL_OVERLAP_ERROR, skip_overlapping=True)
            elif status.startswith("nested_error"):
                # a nested gene's 'missing UTR' is wrong by construction; upstream adds no error instead
                transcript.errors = [e for e in transcript.errors if e.type not in (MISSING_UTR_3P, MISSING_UTR_5P)]
            if status != "normal":
                kind = "nested super loci" if status.startswith("nested") else "overlapping super loci"
                log.info(f"{kind}: {prev.name} and {gene.name}, type: {status}")

        introns = transcript.introns
        if introns:
            last_exon_length = abs(cds.end - self._3p_cds_start(transcript))
            if cds.phase_3p != last_exon_length % 3:
                self._add_extending_error(i, transcript, cds, "3p", MISMATCHED_PHASE_3P)

        faulty = []
        for k, intron in enumerate(introns):
            backwards = (tf.plus and intron.end < intron.start) or (not self.plus and intron.end > intron.start)
            if backwards:
                start = introns[k - 1].end if k > 0 else tf.start
                end = introns[k + 1].start if k < len(introns) - 1 else tf.end
                self._add_error(i, transcript, start, end, OVERLAPPING_EXONS)
                faulty.append(intron)
            elif abs(intron.end - intron.start) < self.min_intron_length:
                self._add_error(i, transcript, intron.start, intron.end, TOO_SHORT_INTRON)
        if faulty:  # by identity: the bad introns are not stored, their error describes them
            introns[:] = [x for x in introns if not any(x is f for f in faulty)]
        for intron in introns:
            if intron.start == tf.start:
                self._add_extending_error(i, transcript, intron, "5p", TRUNCATED_INTRON)
            if intron.end == tf.end:
                self._add_extending_error(i, transcript, intron, "3p", TRUNCATED_INTRON)


def detect_errors(genes: list[GeneModel], seqid: str, sequence: bytes,
                  min_intron_length: int = DEFAULT_MIN_INTRON_LENGTH, utr_annotated: bool = True,
                  mask_partial: bool = True) -> None:
    """Add error features to the transcripts of `genes` (all on sequence `seqid`), strand by strand."""
    for plus in (True, False):
        StrandChecker([g for g in genes if g.plus == plus], plus, seqid, sequence, min_intron_length,
                      utr_annotated, mask_partial).run()


# a genome "annotates UTRs" when at least this share of its coding transcripts has one; a handful of
# odd models (4 of 6,600 in Ensembl's S. cerevisiae) do not make an annotation with UTRs
MIN_UTR_SHARE = 0.05
MIN_TRANSCRIPTS_FOR_UTR_DECISION = 20  # fewer coding transcripts: read as annotating UTRs (upstream's reading)


def utr_share(genes: list[GeneModel]) -> tuple[int, int]:
    """(coding transcripts with a UTR, coding transcripts) among `genes`."""
    coding = [t for g in genes for t in g.transcripts if t.cds is not None]
    with_utr = sum(t.cds.start != t.feature.start or t.cds.end != t.feature.end for t in coding)
    return with_utr, len(coding)
