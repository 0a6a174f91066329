"""What Linux says of this process: one field of ``/proc/self/status``, in kB."""

from __future__ import annotations

__all__ = ["status_kb"]


def status_kb(field: str) -> int:
    """``VmRSS``, ``VmHWM``... of this process in kB (0 where ``/proc`` has no such line)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0
