"""Storage helpers below every other layer: atomic writes, content hashes, the disk cache."""
