"""Image operations written once: filters, MATLAB-style bicubic resize, colour, metrics, file I/O."""
