"""Running detectors over batches: registry, engine and alert post-processing."""
