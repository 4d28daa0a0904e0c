"""Figures, targets, the machine and the settings: what every scenario reports, as text or one JSON object."""

from __future__ import annotations

import json
import math
import os
import platform
import sqlite3
from dataclasses import dataclass, field
from typing import Any


def percentile(values: list[float], p: float) -> float:
    """Return the nearest-rank percentile `p` (0-100) of `values`."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summary(values_ms: list[float]) -> dict[str, float]:
    """Return count, p50/p95/p99/max and mean of timings in milliseconds."""
    if not values_ms:
        return {"count": 0}
    return {
        "count": len(values_ms),
        "p50_ms": round(percentile(values_ms, 50), 2),
        "p95_ms": round(percentile(values_ms, 95), 2),
        "p99_ms": round(percentile(values_ms, 99), 2),
        "max_ms": round(max(values_ms), 2),
        "mean_ms": round(sum(values_ms) / len(values_ms), 2),
    }


@dataclass
class Target:
    name: str
    value: float
    limit: float
    higher_is_better: bool = False
    unit: str = ""

    @property
    def passed(self) -> bool:
        return self.value >= self.limit if self.higher_is_better else self.value <= self.limit

    def as_dict(self) -> dict[str, Any]:
        op = ">=" if self.higher_is_better else "<="
        return {
            "name": self.name,
            "value": self.value,
            "target": f"{op} {self.limit:g}{self.unit}",
            "pass": self.passed,
        }


@dataclass
class Result:
    scenario: str
    db: str
    figures: dict[str, Any] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    dataset: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    machine: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(target.passed for target in self.targets)

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "db": self.db,
            "pass": self.passed,
            "targets": [target.as_dict() for target in self.targets],
            "figures": self.figures,
            "dataset": self.dataset,
            "machine": self.machine,
            "settings": self.settings,
            "notes": self.notes,
        }

    def as_json(self) -> str:
        return json.dumps(self.as_dict(), default=str)

    def as_text(self) -> str:
        lines = [f"== {self.scenario} on {self.db}: {'PASS' if self.passed else 'FAIL'}"]
        for target in self.targets:
            lines.append(f"  target {target.name}: {target.value:g}{target.unit} {target.as_dict()['target']}"
                         f" -> {'pass' if target.passed else 'FAIL'}")  # fmt: skip
        for title, block in (("figures", self.figures), ("dataset", self.dataset)):
            if block:
                lines.append(f"{title}:")
                lines.extend(_lines(block, 1))
        for title, block in (("machine", self.machine), ("settings", self.settings)):
            lines.append(f"{title}: " + ", ".join(f"{key}={value}" for key, value in block.items()))
        lines.extend(f"note: {note}" for note in self.notes)
        return "\n".join(lines)


def _lines(block: dict, depth: int) -> list[str]:
    pad, out = "  " * depth, []
    for key, value in block.items():
        if isinstance(value, dict) and any(isinstance(v, dict) for v in value.values()):
            out.append(f"{pad}{key}:")
            out.extend(_lines(value, depth + 1))
        elif isinstance(value, dict):
            out.append(f"{pad}{key}: " + " ".join(f"{k}={v}" for k, v in value.items()))
        elif isinstance(value, list):
            out.append(f"{pad}{key}:")
            out.extend(f"{pad}  {item}" for item in value)
        else:
            out.append(f"{pad}{key}: {value}")
    return out


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return 0.0


def machine(db_vendor: str, db_version: str) -> dict[str, Any]:
    """Return what the figures were measured on."""
    return {
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "cpu": _cpu_model(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "db": db_vendor,
        "db_version": db_version or (sqlite3.sqlite_version if db_vendor == "sqlite" else ""),
    }


def django_db_settings() -> tuple[str, dict[str, Any]]:
    """Return (database version, the settings that shape its speed) as Leadflow's connection sees them."""
    import django
    from django.conf import settings
    from django.db import connection

    config: dict[str, Any] = {"django": django.get_version(), "debug": settings.DEBUG}
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for pragma in ("journal_mode", "synchronous", "cache_size", "mmap_size", "foreign_keys"):
                cursor.execute(f"PRAGMA {pragma}")
                config[f"sqlite_{pragma}"] = cursor.fetchone()[0]
            config["sqlite_transaction_mode"] = connection.settings_dict["OPTIONS"].get("transaction_mode")
            version = sqlite3.sqlite_version
        else:
            cursor.execute("SHOW server_version")
            version = f"PostgreSQL {cursor.fetchone()[0]}"
            for name in ("fsync", "synchronous_commit", "full_page_writes", "shared_buffers", "work_mem",
                         "effective_cache_size", "max_parallel_workers_per_gather", "jit"):  # fmt: skip
                cursor.execute(f"SHOW {name}")
                config[f"pg_{name}"] = cursor.fetchone()[0]
    config["conn_max_age"] = connection.settings_dict.get("CONN_MAX_AGE")
    return version, config
