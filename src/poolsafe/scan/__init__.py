"""Scanning: configuration, what a scan reports and resolves, its options, the cache, the
prefilter and the lazy index, worker processes, suppressions and baselines, parsing and
checking files, and the engine that decides what needs it."""
