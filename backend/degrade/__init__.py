"""Degradation synthesis: clean image -> what a user would hand us. A tool, not the runtime: training draws its
inputs here (``observe``: one operator per task; ``real``: the photo models' realistic chain) and the benchmarks
make their fixed, seeded inputs with the same code, so what is measured is what was trained for. The service never
degrades an image (its one use is through the style trainer, a tool the service runs on request)."""
