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

from helixtune.annotation.genemodels import GffAnnotation, IdCounter, build_gene_model, collect_annotation
from helixtune.annotation.gff3 import iter_gff3
from helixtune.annotation.store import StoreWriter, create_store
from helixtune.annotation.validation import DEFAULT_MIN_INTRON_LENGTH, ERROR_TYPES, detect_errors
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

    def lines(self) -> list[str]:
        out = [f"species {self.species}: {self.n_sequences} sequences, {self.n_bases:,} bp",
               f"genes {self.n_genes:,}, transcripts {self.n_transcripts:,} "
               f"({self.n_coding_transcripts:,} coding), genes without transcripts {self.n_genes_without_transcripts}"]
        if self.errors:
            out.append("gene-model errors (features / genes): " + ", ".join(
                f"{t} {self.errors[t]}/{self.genes_with_error[t]}" for t in ERROR_TYPES if self.errors[t]))
        else:
            out.append("gene-model errors: none")
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


def _write_database(tmp_db: Path, gff3, fasta, species, accession, version, acquired_from,
                    min_intron_length: int) -> ImportSummary:
    summary = ImportSummary(species)
    annotation = collect_annotation(iter_gff3(gff3), gff3)
    summary.ignored_types, summary.unknown_types = annotation.ignored_types, annotation.unknown_types
    summary.orphans, summary.undefined_parents = annotation.orphans, annotation.undefined_parents
    for type_name, count in annotation.unknown_types.most_common():
        log.warning(f"Ignoring {count} line(s) of type '{type_name}' (not a Sequence Ontology type)")

    connection = create_store(tmp_db)
    try:
        writer = StoreWriter(connection)
        writer.add_genome(species, accession, version, acquired_from)
        coordinate_ids: dict[str, int] = {}
        for seqid, sequence in iter_fasta(fasta):
            coordinate_ids[seqid] = len(coordinate_ids) + 1
            writer.add_coordinate(coordinate_ids[seqid], seqid, sequence, hashlib.sha1(sequence).hexdigest())
            summary.n_sequences += 1
            summary.n_bases += len(sequence)
            log.info(f"Added coordinate object for FASTA sequence with seqid {seqid}")
        connection.commit()
        mapping = map_seqids(annotation, list(coordinate_ids), gff3)

        ids = IdCounter()
        seqids = list(annotation.genes_by_seqid)
        with progress_bar(len(seqids), "import", "seq") as bar:
            for seqid in seqids:
                coordinate_id = coordinate_ids[mapping[seqid]]
                (text,) = connection.execute("SELECT sequence FROM coordinate WHERE id = ?",
                                             (coordinate_id,)).fetchone()
                sequence = text.encode("ascii")
                genes = [build_gene_model(entry, ids, gff3) for entry in annotation.genes_by_seqid[seqid]]
                detect_errors(genes, mapping[seqid], sequence, min_intron_length)
                for gene in genes:
                    writer.add_gene(gene, coordinate_id)
                    _count(summary, gene)
                log.info(f"Finished importing features from {len(genes)} super loci from coordinate with seqid "
                         f"{seqid}")
                bar.update(1)
        writer.set_info({"format": "geenuff-compatible gene-model store", "gff3": str(gff3), "fasta": str(fasta),
                         "species": species, "min_intron_length": min_intron_length,
                         "summary": " | ".join(summary.lines())})
        writer.finish()
    finally:
        connection.close()
    return summary


def _count(summary: ImportSummary, gene) -> None:
    summary.n_genes += 1
    summary.n_transcripts += len(gene.transcripts)
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
               replace: bool = False) -> ImportSummary:
    """Import a GFF3 annotation and its FASTA into a new SQLite gene-model store at `db_path`.

    Gene-model problems (missing UTRs, start/stop codons, bad phases, short introns, overlapping exons or
    genes) are recorded as error features; malformed files raise `InputFileError` naming the line.
    """
    db_path = Path(db_path)
    if not species:
        raise HelixtuneError("a species name is required (--species)")
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
                                          min_intron_length)
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
