"""The genome: FASTA reading, sequence encoding, cutting into subsequences on both strands."""
