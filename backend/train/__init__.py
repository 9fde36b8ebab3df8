"""Training: data, checkpoints and loops. Never imported by the service's hot path."""
