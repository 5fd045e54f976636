"""Run configs, one per replication, shipped with the package (read as data files)."""
