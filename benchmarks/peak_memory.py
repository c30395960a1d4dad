"""Peak resident memory of the running process, for the benchmark scripts."""

from __future__ import annotations

import resource


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB.

    Linux's ``VmHWM`` starts anew at ``exec``; ``ru_maxrss`` keeps the peak of the
    process that forked this one, so a measurement subprocess started by a script that
    had just generated a large input would report the script's memory, not its own.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
