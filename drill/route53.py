"""DNS failover as Route 53 does it, time-scaled.

HealthChecker: calls the health check's resource path on its fqdn (the
Host header carries the fqdn: SNI's role, there is no TLS on loopback)
every request_interval / scale seconds; the status turns unhealthy after
failure_threshold consecutive failures and healthy again after as many
consecutive successes. 2xx/3xx within the timeout is a success.

Resolver: the failover name answers with the PRIMARY record while its
health check is healthy, else with the SECONDARY (a record without a
health check counts as healthy; if the secondary's own check is unhealthy
too, Route 53 answers with the primary). Clients cache an answer for
TTL / scale seconds.
"""

import http.client
import random
import threading
import time


class HealthChecker:
    def __init__(self, hc, port, scale, clock, timeout=2.0):
        self.hc = hc
        self.port = port
        self.interval = hc["request_interval_s"] / scale
        self.threshold = hc["failure_threshold"]
        self.timeout = timeout
        self.clock = clock
        self.healthy = True  # a new check starts healthy (Route 53 does)
        self.streak = 0
        self.transitions = []  # (t, healthy)
        self.results = []  # (t, ok, status)
        self.stop_ev = threading.Event()
        self.lock = threading.Lock()

    def probe(self):
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            c.request("GET", self.hc["resource_path"], headers={
                "Host": self.hc["fqdn"], "User-Agent": "Amazon-Route53-Health-Check-Service (drill)"})
            r = c.getresponse()
            r.read()
            c.close()
            return 200 <= r.status < 400, r.status
        except (OSError, http.client.HTTPException):
            return False, None

    def run(self):
        nxt = time.monotonic()
        while not self.stop_ev.is_set():
            ok, status = self.probe()
            t = self.clock()
            with self.lock:
                self.results.append((t, ok, status))
                if ok != self.healthy:
                    self.streak += 1
                    if self.streak >= self.threshold:
                        self.healthy = ok
                        self.streak = 0
                        self.transitions.append((t, ok))
                else:
                    self.streak = 0
            nxt += self.interval
            self.stop_ev.wait(max(0.0, nxt - time.monotonic()))

    def start(self):
        threading.Thread(target=self.run, daemon=True).start()

    def stop(self):
        self.stop_ev.set()


class Resolver:
    def __init__(self, failover, checkers, regions_by_layer):
        self.failover = failover
        self.checkers = checkers  # "PRIMARY"/"SECONDARY" -> HealthChecker or None
        self.layers = {"PRIMARY": failover["PRIMARY"]["health_check"] and failover["PRIMARY"]["health_check"]["region_layer"] or "primary",
                       "SECONDARY": "dr"}
        self.regions = regions_by_layer
        self.name = failover["PRIMARY"]["name"]

    def healthy(self, kind):
        c = self.checkers.get(kind)
        return True if c is None else c.healthy

    def resolve(self, name):
        assert name == self.name, name
        if self.healthy("PRIMARY"):
            return self.regions[self.layers["PRIMARY"]]
        if self.healthy("SECONDARY"):
            return self.regions[self.layers["SECONDARY"]]
        return self.regions[self.layers["PRIMARY"]]


class CachingStub:
    """A client's resolver cache: one answer, kept for TTL / scale."""

    def __init__(self, resolver, ttl_s, scale):
        self.resolver = resolver
        self.ttl = ttl_s / scale
        self.answer = None
        self.expires = 0.0
        self.started = False
        self.rand = random.Random()

    def lookup(self, name):
        now = time.monotonic()
        if self.answer is None or now >= self.expires:
            first = self.answer is None and not self.started
            self.answer = self.resolver.resolve(name)
            # Clients do not all cache at the same instant: the first
            # answer comes with a random remaining TTL (as from a shared
            # recursive resolver), later ones with the full TTL.
            self.expires = now + (self.ttl * self.rand.random() if first else self.ttl)
            self.started = True
        return self.answer

    def flush(self):
        self.answer = None
