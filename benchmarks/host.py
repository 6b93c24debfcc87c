"""One line naming the machine a benchmark ran on, for its table's header.

Ratios against a built-in move with the host: on 2026-12-04 the same code
measured `second_order` at 1.56x in training on a host with 512 KiB of L2 per
core and 1.07x on one with 1 MiB (`README.md`). So every table says which.
"""

import os
import platform
from pathlib import Path

CPU = Path("/sys/devices/system/cpu/cpu0")


def _cache_sizes():
    """`{"L1d": "48K", "L2": "1024K", ...}` for one core, from sysfs (Linux only)."""
    sizes = {}
    for index in sorted(CPU.glob("cache/index*")):
        try:
            level = (index / "level").read_text().strip()
            kind = (index / "type").read_text().strip()
            size = (index / "size").read_text().strip()
        except OSError:
            continue
        if kind != "Instruction":
            sizes[f"L{level}" + ("d" if kind == "Data" else "")] = size
    return sizes


def _cpu_model_and_flags():
    """The first processor's model name and instruction-set flags (Linux only)."""
    fields = {}
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        if not line.strip():
            break  # the first processor's block ends here
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    model = fields.get("model name") or platform.processor() or platform.machine()
    return model, set(fields.get("flags", "").split())


def describe():
    """E.g. `AMD EPYC (AVX-512), 2 CPUs, L2 1024K per core, L3 32768K`."""
    model, flags = _cpu_model_and_flags()
    vector = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else None
    caches = _cache_sizes()
    parts = [model + (f" ({vector})" if vector else ""), f"{os.cpu_count()} CPUs"]
    if "L2" in caches:
        parts.append(f"L2 {caches['L2']} per core")
    if "L3" in caches:
        parts.append(f"L3 {caches['L3']}")
    return ", ".join(parts)


if __name__ == "__main__":
    print(describe())
