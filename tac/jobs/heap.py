"""glibc's malloc told to keep large freed blocks for reuse (Linux with glibc; a no-op elsewhere).

By default glibc serves each block over 128 KiB (32 MiB at most, as its threshold adapts) with
a fresh mmap and gives it back with munmap when freed. The scorers allocate and free hundreds of
MB of activations per batch, so every batch page-faults its memory in again and the kernel
zeroes it: on 2 cores a 16-sample batch spent half its 7 s in the kernel. Served from the heap
and kept there, the pages are faulted in once per process. What is computed does not change
(torch aligns every tensor to 64 bytes either way); the process keeps its peak memory until it
exits, which suits a process that ends when its work does, like a job.
"""

from __future__ import annotations

import ctypes
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
KEEP_BYTES = 1 << 30  # blocks up to this size come from the heap; this much free is kept


def keep_freed_memory() -> bool:
    """Apply it to this process; True when the C library took both settings."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, KEEP_BYTES) == 1 and mallopt(M_TRIM_THRESHOLD, KEEP_BYTES) == 1
