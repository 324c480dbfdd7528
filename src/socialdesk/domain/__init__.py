"""The desk's vocabulary as pure Python: no I/O, no third-party imports, time passed in as `now`."""
