"""The SQLite gene-model store: GeenuFF's schema (so upstream's geenuff2h5 can read our databases too).

Tables (see docs/annotation.md for every column):
  genome(id, species, accession, version, acquired_from)
  coordinate(id, sequence, length, seqid, sha1, genome_id)            one row per FASTA record
  super_locus(id, given_name, aliases, type)                            one row per gene
  transcript(id, given_name, type, longest, super_locus_id)
  transcript_piece(id, given_name, position, transcript_id)             always one piece, position 0
  protein(id, given_name, super_locus_id)
  feature(id, given_name, type, start, start_is_biological_start, "end", end_is_biological_end,
          is_plus_strand, score, source, phase, coordinate_id)          GeenuFF coordinates
  association_transcript_piece_to_feature, association_protein_to_feature,
  association_transcript_to_protein                                     links
  import_info(key, value)                                               helixtune's own: provenance, counts
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from helixtune.errors import InputFileError

SCHEMA = """
CREATE TABLE genome (
    id INTEGER NOT NULL PRIMARY KEY, species VARCHAR, accession VARCHAR, version VARCHAR, acquired_from VARCHAR,
    CONSTRAINT unique_genome_species_and_version UNIQUE (species, version));
CREATE TABLE coordinate (
    id INTEGER NOT NULL PRIMARY KEY, sequence VARCHAR, length INTEGER, seqid VARCHAR NOT NULL, sha1 VARCHAR,
    genome_id INTEGER NOT NULL REFERENCES genome (id),
    CONSTRAINT unique_coords_per_genome UNIQUE (genome_id, seqid),
    CONSTRAINT check_positive_length CHECK (length >= 0));
CREATE INDEX ix_coordinate_genome_id ON coordinate (genome_id);
CREATE TABLE super_locus (
    id INTEGER NOT NULL PRIMARY KEY, given_name VARCHAR, aliases VARCHAR, type VARCHAR(58));
CREATE INDEX ix_super_locus_type ON super_locus (type);
CREATE TABLE transcript (
    id INTEGER NOT NULL PRIMARY KEY, given_name VARCHAR, type VARCHAR(43), longest BOOLEAN CHECK (longest IN (0, 1)),
    super_locus_id INTEGER NOT NULL REFERENCES super_locus (id));
CREATE INDEX ix_transcript_type ON transcript (type);
CREATE INDEX ix_transcript_longest ON transcript (longest);
CREATE INDEX ix_transcript_super_locus_id ON transcript (super_locus_id);
CREATE TABLE protein (
    id INTEGER NOT NULL PRIMARY KEY, given_name VARCHAR, super_locus_id INTEGER NOT NULL REFERENCES super_locus (id));
CREATE TABLE association_transcript_to_protein (
    transcript_id INTEGER NOT NULL REFERENCES transcript (id), protein_id INTEGER NOT NULL REFERENCES protein (id));
CREATE INDEX ix_association_transcript_to_protein_transcript_id ON association_transcript_to_protein (transcript_id);
CREATE INDEX ix_association_transcript_to_protein_protein_id ON association_transcript_to_protein (protein_id);
CREATE TABLE transcript_piece (
    id INTEGER NOT NULL PRIMARY KEY, given_name VARCHAR, position INTEGER NOT NULL,
    transcript_id INTEGER NOT NULL REFERENCES transcript (id),
    CONSTRAINT unique_positions_per_piece UNIQUE (transcript_id, position));
CREATE INDEX ix_transcript_piece_transcript_id ON transcript_piece (transcript_id);
CREATE TABLE feature (
    id INTEGER NOT NULL PRIMARY KEY, given_name VARCHAR, type VARCHAR(24), start INTEGER NOT NULL,
    start_is_biological_start BOOLEAN NOT NULL, "end" INTEGER NOT NULL, end_is_biological_end BOOLEAN NOT NULL,
    is_plus_strand BOOLEAN NOT NULL, score FLOAT, source VARCHAR, phase INTEGER,
    coordinate_id INTEGER NOT NULL REFERENCES coordinate (id),
    CONSTRAINT unique_feature UNIQUE (coordinate_id, type, start, "end", is_plus_strand, given_name),
    CONSTRAINT check_start_end_phase CHECK (start >= 0 and "end" >= -1 and phase >= 0 and phase < 3),
    CONSTRAINT check_phase_bio_start CHECK (phase is NULL or (not start_is_biological_start or phase = 0)),
    CONSTRAINT start_end_order CHECK ((is_plus_strand and start <= "end") or (not is_plus_strand and "end" <= start)));
CREATE INDEX ix_feature_coordinate_id ON feature (coordinate_id);
CREATE INDEX ix_feature_type ON feature (type);
CREATE TABLE association_transcript_piece_to_feature (
    transcript_piece_id INTEGER NOT NULL REFERENCES transcript_piece (id),
    feature_id INTEGER NOT NULL REFERENCES feature (id));
CREATE INDEX ix_association_transcript_piece_to_feature_transcript_piece_id
    ON association_transcript_piece_to_feature (transcript_piece_id);
CREATE INDEX ix_association_transcript_piece_to_feature_feature_id
    ON association_transcript_piece_to_feature (feature_id);
CREATE TABLE association_protein_to_feature (
    protein_id INTEGER NOT NULL REFERENCES protein (id), feature_id INTEGER NOT NULL REFERENCES feature (id));
CREATE INDEX ix_association_protein_to_feature_protein_id ON association_protein_to_feature (protein_id);
CREATE INDEX ix_association_protein_to_feature_feature_id ON association_protein_to_feature (feature_id);
CREATE TABLE import_info (key VARCHAR NOT NULL PRIMARY KEY, value VARCHAR);
"""


def create_store(path) -> sqlite3.Connection:
    """A new, empty store at `path` (which must not exist); fast settings, as the file is temporary until done."""
    connection = sqlite3.connect(str(path))
    connection.execute("PRAGMA journal_mode = OFF")
    connection.execute("PRAGMA synchronous = OFF")
    connection.executescript(SCHEMA)
    return connection


def open_store(path) -> sqlite3.Connection:
    """Open an existing store read-only, with one-line errors for a missing or foreign file."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(path, "no such file")
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as err:
        raise InputFileError(path, f"not an SQLite database ({err})") from None
    missing = {"genome", "coordinate", "feature", "transcript", "transcript_piece"} - tables
    if missing:
        raise InputFileError(path, f"not a gene-model database (table '{sorted(missing)[0]}' is missing)")
    return connection


class StoreWriter:
    """Buffered inserts; primary keys are handed out here, in creation order."""

    def __init__(self, connection: sqlite3.Connection, flush_every: int = 20000):
        self.db = connection
        self.flush_every = flush_every
        self.rows: dict[str, list[tuple]] = {name: [] for name in (
            "super_locus", "transcript", "transcript_piece", "protein", "feature",
            "association_transcript_piece_to_feature", "association_protein_to_feature",
            "association_transcript_to_protein")}
        self.next_id = {"feature": 0, "protein": 0, "transcript_piece": 0}
        self.n_pending = 0

    def _new_id(self, table: str) -> int:
        self.next_id[table] += 1
        return self.next_id[table]

    def add_genome(self, species: str, accession: str = "", version: str = "", acquired_from: str = "") -> int:
        self.db.execute("INSERT INTO genome (id, species, accession, version, acquired_from) VALUES (1, ?, ?, ?, ?)",
                        (species, accession, version, acquired_from))
        return 1

    def add_coordinate(self, coordinate_id: int, seqid: str, sequence: bytes, sha1: str, genome_id: int = 1) -> None:
        self.db.execute("INSERT INTO coordinate (id, sequence, length, seqid, sha1, genome_id) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (coordinate_id, sequence.decode("ascii"), len(sequence), seqid, sha1, genome_id))

    def add_feature(self, feature, coordinate_id: int, piece_id: int | None = None,
                    protein_id: int | None = None) -> int:
        fid = self._new_id("feature")
        self.rows["feature"].append((fid, feature.given_name, feature.type, feature.start,
                                     feature.start_is_biological_start, feature.end, feature.end_is_biological_end,
                                     feature.plus, feature.score, feature.source, feature.phase, coordinate_id))
        if piece_id is not None:
            self.rows["association_transcript_piece_to_feature"].append((piece_id, fid))
        if protein_id is not None:
            self.rows["association_protein_to_feature"].append((protein_id, fid))
        self.n_pending += 1
        return fid

    def add_gene(self, gene, coordinate_id: int) -> None:
        """Insert a gene model with its transcripts, features and errors (upstream's insertion order)."""
        self.rows["super_locus"].append((gene.id, gene.name, None, gene.type))
        for t in gene.transcripts:
            self.rows["transcript"].append((t.id, t.name, t.type, t.longest, gene.id))
            piece = self._new_id("transcript_piece")
            self.rows["transcript_piece"].append((piece, t.name, 0, t.id))
            self.add_feature(t.feature, coordinate_id, piece)
            if t.cds is not None:
                protein = self._new_id("protein")
                self.rows["protein"].append((protein, t.protein_name, gene.id))
                self.rows["association_transcript_to_protein"].append((t.id, protein))
                self.add_feature(t.cds, coordinate_id, piece, protein)
                for intron in t.introns:
                    self.add_feature(intron, coordinate_id, piece)
                for error in t.errors:
                    self.add_feature(error, coordinate_id, piece)
        if self.n_pending >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        for table, rows in self.rows.items():
            if rows:
                marks = ", ".join("?" * len(rows[0]))
                self.db.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
                rows.clear()
        self.n_pending = 0

    def set_info(self, values: dict) -> None:
        self.db.executemany("INSERT OR REPLACE INTO import_info (key, value) VALUES (?, ?)",
                            [(k, str(v)) for k, v in values.items()])

    def finish(self) -> None:
        self.flush()
        self.db.commit()
        self.db.execute("ANALYZE")
        self.db.commit()
