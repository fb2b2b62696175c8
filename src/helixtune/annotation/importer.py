"""GFF3 + FASTA -> SQLite gene-model store (upstream `import2geenuff`), as one library call: `import_gff`.

Memory: the GFF3's gene structure is held in memory (small next to a genome); sequences are streamed from
the FASTA into the store one record at a time and read back one at a time for the codon checks.
The database is written under a temporary name and renamed only when complete.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from helixtune.annotation.geenuff_models import GffAnnotation, IdCounter, build_gene_model, collect_annotation
from helixtune.annotation.gff3 import iter_annotation
from helixtune.annotation.store import StoreWriter, create_store
from helixtune.annotation.validation import (DEFAULT_MIN_INTRON_LENGTH, ERROR_TYPES, MIN_TRANSCRIPTS_FOR_UTR_DECISION,
                                              MIN_UTR_SHARE, PARTIAL_GENE,
                                              detect_errors, utr_share)
from helixtune.atomic import atomic_output
from helixtune.errors import HelixtuneError, InputFileError
from helixtune.genome.fasta import iter_fasta
from helixtune.progress import progress_bar

log = logging.getLogger("helixtune.annotation")
LOG_FORMAT = "%(asctime)s - %(levelname)s: %(message)s"
LOG_DATE_FORMAT = "%d-%b-%y %H:%M:%S"


@dataclass
class ImportSummary:
    species: str
    n_sequences: int = 0
    n_bases: int = 0
    n_genes: int = 0
    n_transcripts: int = 0
    n_coding_transcripts: int = 0
    n_genes_without_transcripts: int = 0
    errors: Counter = field(default_factory=Counter)  # error features per type
    genes_with_error: Counter = field(default_factory=Counter)  # genes with >= 1 error of the type
    ignored_types: Counter = field(default_factory=Counter)
    unknown_types: Counter = field(default_factory=Counter)
    orphans: Counter = field(default_factory=Counter)
    undefined_parents: Counter = field(default_factory=Counter)
    phases_filled: int = 0  # CDS lines without a phase, given the one their CDS chain implies
    partial_genes: int = 0
    merged_gene_lines: int = 0
    genes_for_parentless_transcripts: int = 0
    utr_annotated: bool = True

    def lines(self) -> list[str]:
        out = [f"species {self.species}: {self.n_sequences} sequences, {self.n_bases:,} bp",
               f"genes {self.n_genes:,}, transcripts {self.n_transcripts:,} "
               f"({self.n_coding_transcripts:,} coding), genes without transcripts {self.n_genes_without_transcripts}"]
        if self.errors:
            out.append("gene-model errors (features / genes): " + ", ".join(
                f"{t} {self.errors[t]}/{self.genes_with_error[t]}" for t in ERROR_TYPES if self.errors[t]))
        else:
            out.append("gene-model errors: none")
        if not self.utr_annotated:
            out.append("no UTRs annotated (under 5 % of coding transcripts have one): missing UTRs not masked; "
                       "training reads intergenic as "
                       "'intergenic or UTR' for this genome")
        if self.phases_filled:
            out.append(f"CDS lines without a phase: {self.phases_filled:,} (phase taken from the CDS chain)")
        if self.partial_genes:
            out.append(f"genes marked partial=true with an incomplete CDS: {self.partial_genes:,} (masked)")
        if self.merged_gene_lines:
            out.append(f"gene lines repeating an ID, merged into one gene: {self.merged_gene_lines}")
        if self.genes_for_parentless_transcripts:
            out.append(f"transcripts without a gene, given one of their own: "
                       f"{self.genes_for_parentless_transcripts:,}")
        if self.unknown_types:
            out.append("ignored lines of types outside the Sequence Ontology: " + ", ".join(
                f"{t} ({n})" for t, n in self.unknown_types.most_common()))
        if self.orphans:
            out.append("ignored children of ignored features or of genes: " + ", ".join(
                f"{t} ({n})" for t, n in self.orphans.most_common()))
        if self.undefined_parents:
            out.append("ignored lines whose Parent is not in the file: " + ", ".join(
                f"{t} ({n})" for t, n in self.undefined_parents.most_common()))
        return out


def map_seqids(annotation: GffAnnotation, fasta_ids: list[str], gff_path) -> dict[str, str]:
    """GFF seqid -> FASTA seqid: exact, else the single FASTA id containing it (upstream's NCBI-friendly rule)."""
    mapping = {}
    known = set(fasta_ids)
    for seqid, line in annotation.first_line_by_seqid.items():
        if seqid in known:
            mapping[seqid] = seqid
            continue
        matches = [f for f in fasta_ids if seqid in f]
        if len(matches) != 1:
            problem = "not found" if not matches else f"matches {len(matches)} ids ({', '.join(matches[:3])})"
            raise InputFileError(gff_path, f"seqid '{seqid}' {problem} in the FASTA", f"line {line}")
        mapping[seqid] = matches[0]
    targets = list(mapping.values())
    if len(targets) != len(set(targets)):
        dup = next(t for t in targets if targets.count(t) > 1)
        raise InputFileError(gff_path, f"several GFF seqids map onto the FASTA sequence '{dup}'")
    return mapping


def refuse_features_beyond_ends(annotation: GffAnnotation, mapping: dict[str, str], lengths: dict[str, int],
                                gff_path) -> None:
    """A feature that ends past its sequence is a broken file (or the wrong FASTA): one line naming it."""
    for seqid, genes in annotation.genes_by_seqid.items():
        length = lengths[mapping[seqid]]
        for gene in genes:
            records = [gene.record] + [r for t in gene.transcripts for r in (t.record, *t.exons, *t.cds)]
            for record in records:
                if record.end > length:
                    raise InputFileError(gff_path, f"{record.type} ends at {record.end:,}, beyond the end of "
                                                   f"'{seqid}' ({length:,} bp in the FASTA)",
                                         f"line {record.line_number}")


def _write_database(tmp_db: Path, gff3, fasta, species, accession, version, acquired_from,
                    min_intron_length: int, utr_annotated: str, partial_genes: str) -> ImportSummary:
    summary = ImportSummary(species)
    ignored_gtf_lines: Counter = Counter()
    annotation = collect_annotation(iter_annotation(gff3, ignored_gtf_lines), gff3)
    annotation.ignored_types.update(ignored_gtf_lines)
    summary.ignored_types, summary.unknown_types = annotation.ignored_types, annotation.unknown_types
    summary.merged_gene_lines = annotation.merged_gene_lines
    summary.genes_for_parentless_transcripts = annotation.genes_for_parentless_transcripts
    summary.orphans, summary.undefined_parents = annotation.orphans, annotation.undefined_parents
    for type_name, count in annotation.unknown_types.most_common():
        log.warning(f"Ignoring {count} line(s) of type '{type_name}' (not a Sequence Ontology type)")

    connection = create_store(tmp_db)
    try:
        writer = StoreWriter(connection)
        writer.add_genome(species, accession, version, acquired_from)
        coordinate_ids: dict[str, int] = {}
        lengths: dict[str, int] = {}
        for seqid, sequence in iter_fasta(fasta):
            coordinate_ids[seqid] = len(coordinate_ids) + 1
            writer.add_coordinate(coordinate_ids[seqid], seqid, sequence, hashlib.sha1(sequence).hexdigest())
            summary.n_sequences += 1
            summary.n_bases += len(sequence)
            lengths[seqid] = len(sequence)
            log.info(f"Added coordinate object for FASTA sequence with seqid {seqid}")
        connection.commit()
        mapping = map_seqids(annotation, list(coordinate_ids), gff3)
        refuse_features_beyond_ends(annotation, mapping, lengths, gff3)

        ids = IdCounter()
        seqids = list(annotation.genes_by_seqid)
        # all gene models first: whether the genome annotates UTRs anywhere decides how missing ones are read
        models = {seqid: [build_gene_model(entry, ids, gff3) for entry in annotation.genes_by_seqid[seqid]]
                  for seqid in seqids}
        if utr_annotated == "auto":
            shares = [utr_share(genes) for genes in models.values()]
            with_utr, coding = sum(a for a, _ in shares), sum(b for _, b in shares)
            # a few models are no evidence either way: keep upstream's reading there
            summary.utr_annotated = coding < MIN_TRANSCRIPTS_FOR_UTR_DECISION or with_utr >= MIN_UTR_SHARE * coding
        else:
            summary.utr_annotated = utr_annotated == "yes"
        with progress_bar(len(seqids), "import", "seq") as bar:
            for seqid in seqids:
                coordinate_id = coordinate_ids[mapping[seqid]]
                (text,) = connection.execute("SELECT sequence FROM coordinate WHERE id = ?",
                                             (coordinate_id,)).fetchone()
                sequence = text.encode("ascii")
                genes = models.pop(seqid)
                detect_errors(genes, mapping[seqid], sequence, min_intron_length, summary.utr_annotated,
                              mask_partial=partial_genes == "mask")
                for gene in genes:
                    writer.add_gene(gene, coordinate_id)
                    _count(summary, gene)
                log.info(f"Finished importing features from {len(genes)} super loci from coordinate with seqid "
                         f"{seqid}")
                bar.update(1)
        writer.set_info({"format": "geenuff-compatible gene-model store", "gff3": str(gff3), "fasta": str(fasta),
                         "species": species, "min_intron_length": min_intron_length,
                         "utr_annotated": "yes" if summary.utr_annotated else "no",
                         "summary": " | ".join(summary.lines())})
        writer.finish()
    finally:
        connection.close()
    return summary


def _count(summary: ImportSummary, gene) -> None:
    summary.n_genes += 1
    summary.n_transcripts += len(gene.transcripts)
    summary.partial_genes += any(e.type == PARTIAL_GENE for t in gene.transcripts for e in t.errors)
    summary.phases_filled += sum(t.phases_filled for t in gene.transcripts)
    if not gene.transcripts:
        summary.n_genes_without_transcripts += 1
    types = set()
    for transcript in gene.transcripts:
        summary.n_coding_transcripts += transcript.cds is not None
        for error in transcript.errors:
            summary.errors[error.type] += 1
            types.add(error.type)
    for type_name in types:
        summary.genes_with_error[type_name] += 1


def import_gff(gff3, fasta, db_path, species: str, accession: str = "", version: str = "",
               acquired_from: str = "", log_file=None, min_intron_length: int = DEFAULT_MIN_INTRON_LENGTH,
               replace: bool = False, utr_annotated: str = "auto", partial_genes: str = "mask") -> ImportSummary:
    """Import a GFF3 or GTF annotation and its FASTA into a new SQLite gene-model store at `db_path`.

    `utr_annotated`: "auto" (the genome annotates UTRs when 5 % of coding transcripts have one), "yes" or "no".
    `partial_genes`: "mask" (genes marked `partial=true` whose CDS lacks its start or stop codon are masked
    whole) or "keep" (upstream's labels).

    Gene-model problems (missing UTRs, start/stop codons, bad phases, short introns, overlapping exons or
    genes) are recorded as error features; malformed files raise `InputFileError` naming the line.
    """
    db_path = Path(db_path)
    if not species:
        raise HelixtuneError("a species name is required (--species)")
    if partial_genes not in ("mask", "keep"):
        raise HelixtuneError(f"--partial-genes must be mask or keep, got '{partial_genes}'")
    if utr_annotated not in ("auto", "yes", "no"):
        raise HelixtuneError(f"--utr-annotated must be auto, yes or no, got '{utr_annotated}'")
    if db_path.exists() and not replace:
        raise InputFileError(db_path, "already exists (use --replace-db to overwrite it)")
    if log_file is not None:
        try:
            handler = logging.FileHandler(log_file, mode="w")
        except OSError as err:
            raise InputFileError(log_file, f"cannot write the log file ({err.strerror})") from None
        handler.setFormatter(logging.Formatter(LOG_FORMAT, LOG_DATE_FORMAT))
    else:
        handler = logging.NullHandler()  # else Python's last-resort handler prints every warning
    previous = (log.level, log.propagate)
    log.setLevel(logging.INFO)
    log.propagate = False  # per-gene warnings go to the log file, not the terminal
    log.addHandler(handler)
    try:
        log.info(f"Starting to add genome: {species}; FASTA path: {fasta}; GFF path: {gff3}")
        with atomic_output(db_path) as tmp:
            try:
                summary = _write_database(tmp, gff3, fasta, species, accession, version, acquired_from,
                                          min_intron_length, utr_annotated, partial_genes)
            except sqlite3.DatabaseError as err:  # a constraint a gene model broke, or a full disk
                raise HelixtuneError(f"{gff3}: could not store the gene models in {db_path} ({err})") from None
        for line in summary.lines():
            log.info(line)
        return summary
    finally:
        log.removeHandler(handler)
        handler.close()
        log.setLevel(previous[0])
        log.propagate = previous[1]
