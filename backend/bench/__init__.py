"""Measurement, apart from the runtime: ``python -m backend bench {quality,speed,real,report,compare}``, ``eval``,
``eval-style`` and ``sheet``. Nothing in the runtime (service, pipeline, nets, imaging, runtime) imports it."""
