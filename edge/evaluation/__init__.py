"""edge-classify --eval: a labelled folder scored (class folders matched to labels, the
outcomes, the report)."""
