"""Telling an out-of-memory failure from any other, whichever runtime and device raised it, without importing
torch: the tile loop retries those (smaller tiles, then the CPU) and lets every other error through."""

from __future__ import annotations

# ONNX Runtime raises its own RuntimeException for every failure: only its message says memory ran out (the CUDA
# and CPU allocators, std::bad_alloc, DirectML's E_OUTOFMEMORY); torch has OutOfMemoryError (CUDA) and MPS's message
MESSAGES = ("out of memory", "failed to allocate memory", "bad_alloc", "bad allocation", "e_outofmemory", "8007000e")


def out_of_memory(e: BaseException) -> bool:
    if isinstance(e, MemoryError) or type(e).__name__ == "OutOfMemoryError":
        return True
    text = str(e).lower()
    return any(m in text for m in MESSAGES)
