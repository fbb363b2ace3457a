"""Traffic: a steady stream of POST /payments through the failover name.

Each payment has a unique Idempotency-Key; 5xx, 409 and connection errors
are retried with the same key (short jittered back-off). Requests are
SigV4-signed (execute-api, region of the resolved answer) by the drill's
client principal. A small share of first attempts goes to the region the
name does NOT currently resolve to (a client with a stale DNS entry): the
passive region gets real write attempts all the time.
"""

import http.client
import json
import random
import socket
import threading
import time
import uuid

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

CREDS = Credentials("ASIADRILLCLIENT00001", "drill-secret-not-checked", "drill-session")


class Payment:
    __slots__ = ("key", "worker", "t_first", "t_ack", "region", "payment_id", "attempts", "replayed", "final", "stray")

    def __init__(self, key, worker, t):
        self.key, self.worker, self.t_first = key, worker, t
        self.t_ack = self.region = self.payment_id = self.final = None
        self.attempts = 0
        self.replayed = False
        self.stray = False


class Traffic:
    def __init__(self, name, stub_factory, regions, clock, rate, workers, stray_share=0.05, seed=7):
        self.name = name
        self.stub_factory = stub_factory
        self.regions = regions  # layer -> Region
        self.clock = clock
        self.period = workers / float(rate)
        self.workers = workers
        self.stray_share = stray_share
        self.stop_new = threading.Event()
        self.hard_stop = threading.Event()
        self.lock = threading.Lock()
        self.payments = []
        self.attempts = []  # dicts
        self.threads = []
        self.rand = random.Random(seed)

    def start(self):
        for w in range(self.workers):
            t = threading.Thread(target=self._worker, args=(w,), daemon=True)
            t.start()
            self.threads.append(t)

    def stop(self, drain_s):
        self.stop_new.set()
        deadline = time.monotonic() + drain_s
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
        self.hard_stop.set()
        for t in self.threads:
            t.join(2)

    def _send(self, conns, region, method, path, body, headers):
        c = conns.get(region.layer)
        if c is None:
            c = conns[region.layer] = http.client.HTTPConnection("127.0.0.1", region.api_port, timeout=20)
            try:
                c.connect()
                c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError as e:
                conns.pop(region.layer, None)
                return None, str(e).encode(), {}
        try:
            c.request(method, path, body=body.encode() if isinstance(body, str) else body, headers=headers)
            r = c.getresponse()
            data = r.read()
            return r.status, data, dict(r.getheaders())
        except (OSError, http.client.HTTPException) as e:
            c.close()
            conns.pop(region.layer, None)
            return None, str(e).encode(), {}

    def _worker(self, w):
        stub = self.stub_factory()
        conns = {}
        rnd = random.Random(w * 7919 + 1)
        nxt = time.monotonic() + rnd.random() * self.period
        n = 0
        while not self.stop_new.is_set():
            delay = nxt - time.monotonic()
            if delay > 0 and self.stop_new.wait(delay):
                break
            nxt += self.period
            n += 1
            key = "drill-%s-w%d-%d-%s" % (self.name, w, n, uuid.uuid4().hex[:8])
            body = json.dumps({"amount_minor": 100 + n, "currency": "USD", "merchant_id": "drill_merchant_%d" % w})
            p = Payment(key, w, self.clock())
            stray = rnd.random() < self.stray_share
            p.stray = stray
            with self.lock:
                self.payments.append(p)
            backoff = 0.02
            while not self.hard_stop.is_set():
                resolved = stub.lookup(self.name)
                region = resolved
                if stray and p.attempts == 0:
                    region = next(r for r in self.regions.values() if r is not resolved)
                req = AWSRequest(method="POST", url="https://%s/payments" % self.name, data=body,
                                 headers={"Content-Type": "application/json", "Idempotency-Key": key,
                                          "User-Agent": "drill-client/1"})
                SigV4Auth(CREDS, "execute-api", region.name).add_auth(req)
                headers = dict(req.headers.items())
                headers["Host"] = self.name
                t0 = self.clock()
                status, data, rh = self._send(conns, region, "POST", "/payments", body, headers)
                t1 = self.clock()
                code = None
                payload = None
                try:
                    payload = json.loads(data) if status else None
                    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
                        code = payload["error"].get("code")
                except ValueError:
                    pass
                rec = {"t": t0, "t_end": t1, "latency": t1 - t0, "worker": w, "key": key, "region": region.layer,
                       "status": status, "code": code, "retry": p.attempts > 0, "stray": stray and p.attempts == 0,
                       "replayed": rh.get("Idempotent-Replayed") == "true",
                       "answer_region": payload.get("region") if isinstance(payload, dict) else None}
                p.attempts += 1
                with self.lock:
                    self.attempts.append(rec)
                if status == 201:
                    p.t_ack, p.region = t1, region.layer
                    p.payment_id = payload.get("payment_id")
                    p.replayed = rec["replayed"]
                    p.final = 201
                    break
                retryable = status is None or status >= 500 or status == 409
                if not retryable:
                    p.final = status
                    break
                if status is None:
                    stub.flush()  # connection refused: ask DNS again next time
                self.hard_stop.wait(backoff * (0.5 + rnd.random()))
                backoff = min(backoff * 1.5, 0.1)
            if p.final is None:
                p.final = "abandoned"
