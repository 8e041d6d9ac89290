"""The `lnf` command line: a thin layer over the library."""
