"""GFF3 + FASTA -> annotated training h5 in one call (import into a temporary database, then export).

This is what the self-train loop calls to turn decoded pseudolabel GFF3 back into training matrices.
"""

from __future__ import annotations

from pathlib import Path

from helixtune.annotation.export import ExportSummary, export_h5
from helixtune.genome.lengths import DEFAULT_SUBSEQUENCE_LENGTH
from helixtune.annotation.importer import ImportSummary, import_gff
from helixtune.atomic import check_output_file, scratch_folder
from helixtune.errors import InputFileError


def gff_to_h5(gff3, fasta, h5_path, species: str, subsequence_length: int = DEFAULT_SUBSEQUENCE_LENGTH,
              compression: str = "gzip", with_x: bool = True, sequence_order: str = "length",
              **import_options) -> tuple[ImportSummary, ExportSummary]:
    """Import `gff3` + `fasta` and export the annotated h5 to `h5_path`; the database is temporary."""
    h5_path = Path(h5_path)
    if not h5_path.name.endswith(".h5"):
        raise InputFileError(h5_path, "the output name must end with .h5")
    check_output_file(h5_path)
    # the database sits beside the output (it holds the genome sequence; /tmp may be small)
    with scratch_folder(h5_path) as tmp:
        db_path = Path(tmp) / "annotation.sqlite3"
        imported = import_gff(gff3, fasta, db_path, species, **import_options)
        exported = export_h5(db_path, h5_path, subsequence_length=subsequence_length, compression=compression,
                             with_x=with_x, sequence_order=sequence_order)
    return imported, exported
