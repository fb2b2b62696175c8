"""Codon and splice-site biology on plain bytes sequences: the one source for every stage.

Sequences are `bytes` in upper case (ACGT, N and the IUPAC ambiguity codes); the reverse complement
maps each code to its complement, N to N.
"""

from __future__ import annotations

START_CODON = b"ATG"
STOP_CODONS = (b"TAA", b"TAG", b"TGA")
# donor + acceptor dinucleotides of an intron, read on its own strand: GT-AG and GC-AG (U2) and AT-AC (U12)
CANONICAL_SPLICE_MOTIFS = (b"GTAG", b"GCAG", b"ATAC")

_COMPLEMENT = bytes.maketrans(b"ACGTNRYKMSWBDHV", b"TGCANYRMKSWVHDB")


def reverse_complement(seq: bytes) -> bytes:
    return seq.translate(_COMPLEMENT)[::-1]


# the same codons as read on the plus strand for a minus-strand feature
START_CODON_MINUS = reverse_complement(START_CODON)
STOP_CODONS_MINUS = tuple(reverse_complement(codon) for codon in STOP_CODONS)


def codons(coding: bytes) -> list[bytes]:
    """The complete codons of a coding sequence, in order (a trailing partial codon is left out)."""
    return [coding[i:i + 3] for i in range(0, len(coding) - len(coding) % 3, 3)]
