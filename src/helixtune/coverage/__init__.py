"""BAM alignments -> per-base coverage tracks in a data h5 (`helixtune add-coverage`)."""

from helixtune.coverage.add import CoverageSummary, add_coverage
from helixtune.coverage.bam import Strandedness

__all__ = ["CoverageSummary", "Strandedness", "add_coverage"]
