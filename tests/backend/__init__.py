"""The backend: engine, service, command line, benchmarks and training."""
