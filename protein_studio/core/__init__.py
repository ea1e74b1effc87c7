"""Qt-free, torch-free domain layer: sequences, mutations, structures, numbering, DMS tables, state."""
