"""Optional Prometheus metrics of every pool and tracker (``pip install
'poolsafe[prometheus]'``): checkouts, connections in use, the limit, waiting
requests and leaks, read when the registry is scraped."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from . import tracking
from .health import Occupancy, occupancy_of
from .tracker import Tracker


class PoolCollector:
    """A ``prometheus_client`` collector of the pools' checkouts, connections in
    use, waiting requests and leaks, read at scrape time.

    Without ``pools`` it reports every pool and tracker alive (built by poolsafe
    or attached with ``track()``). Register it with :func:`register_prometheus`.
    """

    def __init__(self, pools: Iterable[Any] | None = None, prefix: str = "poolsafe_pool") -> None:
        self._pools = list(pools) if pools is not None else None
        self.prefix = prefix

    def _targets(self) -> list[Any]:
        return self._pools if self._pools is not None else tracking.live_monitors()

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        labels = ["pool", "kind"]
        p = self.prefix
        in_use = GaugeMetricFamily(f"{p}_in_use", "Connections checked out now", labels=labels)
        size = GaugeMetricFamily(f"{p}_max", "Most connections the pool opens", labels=labels)
        waiting = GaugeMetricFamily(
            f"{p}_waiting", "Requests waiting for a connection", labels=labels
        )
        checkouts = CounterMetricFamily(f"{p}_checkouts", "Connections checked out", labels=labels)
        leaks = CounterMetricFamily(
            f"{p}_leaks",
            "Checkouts garbage-collected or closed without being returned",
            labels=labels,
        )
        for pool in self._targets():
            sample = _sample(pool)
            if sample is None:
                continue
            key = [sample["name"], sample["kind"]]
            in_use.add_metric(key, sample["in_use"])
            waiting.add_metric(key, sample["waiting"])
            checkouts.add_metric(key, sample["checkouts"])
            leaks.add_metric(key, sample["leaks"])
            if sample["max"] is not None:
                size.add_metric(key, sample["max"])
        yield from (checkouts, in_use, size, waiting, leaks)


def _sample(pool: Any) -> dict[str, Any] | None:
    """One pool's numbers for the collector (``None`` if it cannot be read)."""
    try:
        if isinstance(pool, Tracker):
            stats = pool.stats()
            try:
                occupancy: Occupancy | None = occupancy_of(pool.target)
            except Exception:
                occupancy = None
            return {
                "name": pool.name,
                "kind": pool.kind,
                "in_use": stats.in_use,
                "waiting": occupancy.waiting if occupancy else 0,
                "max": occupancy.max if occupancy else None,
                "checkouts": stats.checkouts,
                "leaks": stats.leaked,
            }
        occupancy = occupancy_of(pool)
        counters: Any = pool.stats() if occupancy.kind == "poolsafe" else None
        leaked = counters.leaked if counters is not None else 0
        return {
            "name": occupancy.name,
            "kind": occupancy.kind,
            "in_use": occupancy.in_use,
            "waiting": occupancy.waiting,
            "max": occupancy.max,
            "checkouts": getattr(counters, "requests", 0),
            "leaks": leaked or 0,
        }
    except Exception:
        return None


def register_prometheus(*pools: Any, registry: Any = None, prefix: str = "poolsafe_pool") -> Any:
    """Register a :class:`PoolCollector` (every live pool and tracker, or just
    ``pools``) with ``registry`` (default: ``prometheus_client.REGISTRY``) and
    return it. Needs ``pip install 'poolsafe[prometheus]'``."""
    try:
        import prometheus_client
    except ImportError:
        raise ImportError(
            "Prometheus metrics need prometheus_client: pip install 'poolsafe[prometheus]'"
        ) from None
    collector = PoolCollector(pools or None, prefix)
    (registry if registry is not None else prometheus_client.REGISTRY).register(collector)
    return collector
