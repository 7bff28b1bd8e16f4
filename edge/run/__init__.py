"""One run of edge-classify: finding the files, decoding them in threads, the run itself,
its outputs and run record, sorting, progress and the per-stage profile."""
