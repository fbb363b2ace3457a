#!/usr/bin/env python3
"""Local Lambda Runtime API stub for benchmarking the `bootstrap` binary.

Loopback only, bounded: it starts the binary itself, serves a fixed list of
API Gateway proxy events through GET /2018-06-01/runtime/invocation/next,
collects POST .../response, then stops the binary.

Measures
  * init: time from just before the process is spawned to its first
    GET .../invocation/next (repeated --init-runs times, no event served);
  * latency: per invocation, from the moment the event is handed out to the
    moment its response arrives (handler time + runtime-client overhead).

Environment for the function (DB_*, SESSION_TABLE, endpoints, credentials)
is inherited from the caller (scripts/bench-lambda.sh).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"


class Stub:
    def __init__(self, events):
        self.events = list(events)
        self.lock = threading.Condition()
        self.first_poll = None
        self.handed_out = {}  # request id -> perf_counter when handed out
        self.results = []  # (request id, latency_s, status_code or None, error, body)
        self.done = threading.Event()

    def next_event(self):
        with self.lock:
            if self.first_poll is None:
                self.first_poll = time.perf_counter()
                self.lock.notify_all()
            if not self.events:
                self.done.set()
                return None
            ev = self.events.pop(0)
            rid = str(uuid.uuid4())
            self.handed_out[rid] = time.perf_counter()
            return rid, ev

    def finish(self, rid, body, error):
        t = time.perf_counter()
        with self.lock:
            started = self.handed_out.pop(rid, None)
            status = None
            resp = None
            if not error:
                try:
                    resp = json.loads(body)
                    status = resp.get("statusCode")
                except ValueError:
                    error = "unparseable response"
            if started is not None:
                self.results.append((rid, t - started, status, error, resp))
            if not self.events and not self.handed_out:
                self.done.set()


def make_handler(stub):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def _reply(self, code, body=b"", headers=None):
            self.send_response(code)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

        def do_GET(self):
            if self.path != PREFIX + "/invocation/next":
                return self._reply(404)
            item = stub.next_event()
            if item is None:
                # No more work: keep the long poll open until we are stopped.
                stub.done.wait(timeout=30)
                time.sleep(30)
                return
            rid, ev = item
            body = json.dumps(ev).encode()
            deadline = int(time.time() * 1000) + 30_000
            self._reply(
                200,
                body,
                {
                    "Content-Type": "application/json",
                    "Lambda-Runtime-Aws-Request-Id": rid,
                    "Lambda-Runtime-Deadline-Ms": str(deadline),
                    "Lambda-Runtime-Invoked-Function-Arn":
                        "arn:aws:lambda:us-east-1:123456789012:function:payment-handler",
                    "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000;Sampled=0",
                },
            )

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = self.path[len(PREFIX):].strip("/").split("/")
            if self.path.startswith(PREFIX + "/init/error"):
                sys.stderr.write("init error: %s\n" % body[:500])
                stub.done.set()
                return self._reply(202, b"{}")
            if len(parts) == 3 and parts[0] == "invocation":
                rid, kind = parts[1], parts[2]
                err = None if kind == "response" else body[:300].decode(errors="replace")
                stub.finish(rid, body, err)
                return self._reply(202, b"{}")
            return self._reply(404)

    return Handler


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # The function is killed while its long poll is open: expected.
        pass


def run_once(bootstrap, events, env, timeout):
    stub = Stub(events)
    server = QuietServer(("127.0.0.1", 0), make_handler(stub))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    child_env = dict(env)
    child_env.update(
        {
            "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:%d" % port,
            "AWS_LAMBDA_FUNCTION_NAME": "payment-handler",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/payment-handler",
            "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        }
    )
    log = open(os.devnull, "wb") if not env.get("BENCH_SHOW_LOGS") else None
    t0 = time.perf_counter()
    proc = subprocess.Popen([bootstrap], env=child_env, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout
        if events:
            while not stub.done.is_set() and time.monotonic() < deadline and proc.poll() is None:
                stub.done.wait(0.05)
        else:
            with stub.lock:
                while stub.first_poll is None and time.monotonic() < deadline and proc.poll() is None:
                    stub.lock.wait(0.05)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        server.shutdown()
        server.server_close()
    init = None if stub.first_poll is None else stub.first_poll - t0
    return init, stub.results, proc.returncode


def payment_event(template, key, amount):
    ev = json.loads(json.dumps(template))
    ev["body"] = json.dumps({"amount_minor": amount, "currency": "USD", "merchant_id": "bench_merchant"})
    ev["headers"]["Idempotency-Key"] = key
    ev["multiValueHeaders"]["Idempotency-Key"] = [key]
    ev["requestContext"]["requestId"] = str(uuid.uuid4())
    return ev


def get_event(template, payment_id):
    ev = json.loads(json.dumps(template))
    ev["httpMethod"] = "GET"
    ev["path"] = "/payments/" + payment_id
    ev["resource"] = "/payments/{id}"
    ev["pathParameters"] = {"id": payment_id}
    ev["body"] = None
    for h in ("headers", "multiValueHeaders"):
        ev[h].pop("Idempotency-Key", None)
        ev[h].pop("Content-Type", None)
    ev["requestContext"]["httpMethod"] = "GET"
    ev["requestContext"]["resourcePath"] = "/payments/{id}"
    ev["requestContext"]["requestId"] = str(uuid.uuid4())
    return ev


def report(name, results, warmup, expect):
    bad = [r for r in results if r[2] != expect]
    if bad:
        sys.exit("bench: %s: %d responses not %d (first: %r)" % (name, len(bad), expect, bad[0][:4]))
    lat = sorted(r[1] * 1000 for r in results[warmup:])
    print("%s first invocation (opens DB + HTTP connections): %.2f ms" % (name, results[0][1] * 1000))
    print("%s latency over %d invocations (after %d warm-up): p50 %.2f ms, p99 %.2f ms, mean %.2f ms, max %.2f ms"
          % (name, len(lat), warmup, pct(lat, 50), pct(lat, 99), statistics.mean(lat), lat[-1]))
    return lat


def pct(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    k = max(0, min(len(sorted_vals) - 1, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--fixture", required=True)
    ap.add_argument("--init-runs", type=int, default=20)
    ap.add_argument("--invocations", type=int, default=500)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=300)
    args = ap.parse_args()
    env = dict(os.environ)
    template = json.load(open(args.fixture))

    inits = []
    for _ in range(args.init_runs):
        init, _, _ = run_once(args.bootstrap, [], env, 10)
        if init is None:
            sys.exit("bench: bootstrap never polled the runtime API (see BENCH_SHOW_LOGS=1)")
        inits.append(init * 1000)
    inits.sort()
    print("init (spawn -> first /invocation/next), %d runs: median %.2f ms, min %.2f ms, max %.2f ms"
          % (len(inits), statistics.median(inits), inits[0], inits[-1]))

    run = uuid.uuid4().hex[:8]
    total = args.warmup + args.invocations
    events = [payment_event(template, "bench-%s-%d" % (run, i), 100 + i) for i in range(total)]
    init, results, _ = run_once(args.bootstrap, events, env, args.timeout)
    if len(results) != total:
        sys.exit("bench: only %d/%d POST responses" % (len(results), total))
    lat = report("POST /payments", results, args.warmup, 201)

    # Ledger read only (no DynamoDB): shows the function's own overhead.
    ids = [json.loads(r[4]["body"])["payment_id"] for r in results]
    gets = [get_event(template, ids[i % len(ids)]) for i in range(total)]
    _, gresults, _ = run_once(args.bootstrap, gets, env, args.timeout)
    if len(gresults) != total:
        sys.exit("bench: only %d/%d GET responses" % (len(gresults), total))
    glat = report("GET /payments/{id}", gresults, args.warmup, 200)
    print("BENCH init_median_ms=%.2f post_p50_ms=%.2f post_p99_ms=%.2f get_p50_ms=%.2f get_p99_ms=%.2f"
          % (statistics.median(inits), pct(lat, 50), pct(lat, 99), pct(glat, 50), pct(glat, 99)))

if __name__ == "__main__":
    main()
