"""Named fetch policies, so deployments pick one by name (flow parameters must be plain values)."""
from signal_desk.http import FetchPolicy

POLICIES = {
    # Public sites: few requests per host at once, spaced, patient retries.
    "internet": FetchPolicy(),
    # The local mirror: no spacing, quick retries, still bounded. Four requests at once, as for public
    # sites: a loopback server answers at once, and more connections only cost httpcore's pool, which
    # scans every connection for each request (bench/README.md, "The quiet hour's fetch").
    "mirror": FetchPolicy(per_host_concurrency=4, per_host_interval_s=0.0, max_attempts=3,
                          backoff_base_s=0.05, backoff_cap_s=0.5, timeout_s=10.0, max_total_s=30.0),
    # Tests: one attempt, no waiting.
    "test": FetchPolicy.for_tests(),
}


def policy(name: str) -> FetchPolicy:
    try:
        return POLICIES[name]
    except KeyError:
        raise ValueError(f"unknown fetch policy {name!r}; choose one of {sorted(POLICIES)}") from None
