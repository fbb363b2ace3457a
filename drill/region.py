"""One region of function: the shipped `bootstrap` under a local Lambda
Runtime API, an API-Gateway-style REST proxy in front of it, and the
region's DynamoDB endpoint (a recording relay to the shared moto server).

Loopback only. Every server thread is a daemon; `Region.stop()` ends the
processes it started (by PID) and closes the servers.

* Runtime API: one small server per execution environment (so each
  invocation is known to belong to one process), all fed from one queue.
  This follows functions/payment/bench/runtime_stub.py (same endpoints and
  headers) but serves invocations on demand instead of a fixed list.
* API proxy: REST API proxy integration. Routes, the stage and required
  headers come from the generated module (aws_api_gateway_resource/method/
  stage). Two host names are served, as on AWS: the execute-api host
  (`/<stage>/...`, what the Route 53 health check calls with SNI) and the
  custom domain (base path mapping to the stage, what clients call).
  A SigV4-signed request gets `requestContext.identity` filled as API
  Gateway does for AWS_IAM authorization (accountId, caller, userArn,
  accessKey, user) from the signing principal.
* DynamoDB relay: the session table is a global table (multi-active): both
  regions' endpoints must see one table. moto keeps tables per region, so
  the relay re-scopes the SigV4 credential of us-east-2 requests to the
  table's home region (moto does not check signatures). It records every
  write (PutItem, UpdateItem, DeleteItem, ...) with its time and region:
  that is how the drill sees a passive region writing.
"""

import base64
import http.client
import json
import os
import queue
import socket
import re
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

RUNTIME_PREFIX = "/2018-06-01/runtime"
WRITE_OPS = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}

# Principals known to the drill's "IAM": access key id -> identity.
PRINCIPALS = {
    "ASIADRILLCLIENT00001": {
        "accountId": "111122223333",
        "caller": "AROADRILLCLIENTROLE01:drill-client",
        "user": "AROADRILLCLIENTROLE01:drill-client",
        "userArn": "arn:aws:sts::111122223333:assumed-role/PaymentsClient/drill-client",
    },
}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        pass  # peers killed mid-request are part of the drill


class Invocation:
    def __init__(self, event):
        self.id = str(uuid.uuid4())
        self.event = event
        self.done = threading.Event()
        self.response = None
        self.error = None
        self.env_index = None


class Region:
    def __init__(self, layer, info, bootstrap, env, moto_url, home_region, log_dir,
                 n_envs=3, api_account="123456789012"):
        self.layer = layer
        self.info = info
        self.name = info["region"]
        self.bootstrap = bootstrap
        self.env = env
        self.moto = urlsplit(moto_url)
        self.home_region = home_region
        self.log_dir = log_dir
        self.n_envs = n_envs
        self.api_account = api_account
        self.queue = queue.Queue()
        self.inflight = {}  # invocation id -> Invocation
        self.lock = threading.Lock()
        self.procs = []  # [(Popen, runtime server)]
        self.functions_up = False
        self.stopping = False
        self.ddb_writes = []  # (t, op, http status)
        self.invocations = 0
        self.servers = []
        self.custom_domain = None

    # ------------------------------------------------------------ servers
    def _serve(self, handler):
        srv = Server(("127.0.0.1", 0), handler)
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        self.servers.append(srv)
        return srv.server_address[1]

    def start(self, custom_domain):
        self.custom_domain = custom_domain
        self.ddb_port = self._serve(self._ddb_handler())
        self.api_port = self._serve(self._api_handler())
        self.start_functions()

    def stop(self):
        self.stopping = True
        self.kill_functions()
        for s in self.servers:
            s.shutdown()
            s.server_close()

    def ddb_url(self):
        return "http://127.0.0.1:%d" % self.ddb_port

    # ------------------------------------------------------------ functions
    def start_functions(self):
        """Starts n_envs execution environments (cold starts)."""
        self.generation = getattr(self, "generation", 0) + 1
        for i in range(self.n_envs):
            port = self._serve(self._runtime_handler(i, self.generation))
            env = dict(self.env)
            env.update({
                "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:%d" % port,
                "AWS_LAMBDA_FUNCTION_NAME": self.info["function_name"],
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.info["memory_mb"]),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/" + self.info["function_name"],
                "AWS_LAMBDA_LOG_STREAM_NAME": "drill-%s-%d" % (self.name, i),
                "DYNAMODB_ENDPOINT_URL": self.ddb_url(),
            })
            log = open(os.path.join(self.log_dir, "function-%s-%d.log" % (self.name, i)), "ab")
            p = subprocess.Popen([self.bootstrap], env=env, stdout=log, stderr=log,
                                 stdin=subprocess.DEVNULL)
            log.close()
            self.procs.append((p, i))
        self.functions_up = True
        threading.Thread(target=self._watch, daemon=True).start()

    def kill_functions(self):
        """The region's function is gone (SIGKILL, by PID)."""
        self.functions_up = False
        self.generation = getattr(self, "generation", 0) + 1  # old long polls stop taking work
        procs, self.procs = self.procs, []
        for p, _ in procs:
            if p.poll() is None:
                p.kill()
        for p, _ in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        with self.lock:
            for inv in list(self.inflight.values()):
                inv.error = "execution environment died"
                inv.done.set()
            self.inflight.clear()
        # Invocations still queued fail as the service would.
        while True:
            try:
                inv = self.queue.get_nowait()
            except queue.Empty:
                break
            inv.error = "function unavailable"
            inv.done.set()

    def _watch(self):
        procs = list(self.procs)
        while self.functions_up and not self.stopping:
            for p, i in procs:
                if p.poll() is not None:
                    with self.lock:
                        for inv in list(self.inflight.values()):
                            if inv.env_index == i:
                                inv.error = "execution environment exited (%s)" % p.returncode
                                inv.done.set()
                                self.inflight.pop(inv.id, None)
            time.sleep(0.05)

    def alive_envs(self):
        return sum(1 for p, _ in self.procs if p.poll() is None)

    def invoke(self, event, timeout):
        if not self.functions_up or self.alive_envs() == 0:
            return None, "function unavailable"
        inv = Invocation(event)
        with self.lock:
            self.invocations += 1
        self.queue.put(inv)
        if not inv.done.wait(timeout):
            with self.lock:
                self.inflight.pop(inv.id, None)
            return None, "timeout"
        return inv.response, inv.error

    def _runtime_handler(self, index, generation):
        region = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *a):
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
                if self.path != RUNTIME_PREFIX + "/invocation/next":
                    return self._reply(404)
                while not region.stopping and region.generation == generation:
                    try:
                        inv = region.queue.get(timeout=0.2)
                    except queue.Empty:
                        continue
                    if region.generation != generation:
                        region.queue.put(inv)
                        return
                    if inv.done.is_set():
                        continue
                    inv.env_index = index
                    with region.lock:
                        region.inflight[inv.id] = inv
                    body = json.dumps(inv.event).encode()
                    try:
                        return self._reply(200, body, self._headers(inv))
                    except OSError:
                        with region.lock:
                            region.inflight.pop(inv.id, None)
                        region.queue.put(inv)  # the environment is gone: another one takes it
                        return

            def _headers(self, inv):
                if True:  # noqa: SIM108
                    deadline = int(time.time() * 1000 + region.info["timeout_s"] * 1000)
                    return ({
                        "Content-Type": "application/json",
                        "Lambda-Runtime-Aws-Request-Id": inv.id,
                        "Lambda-Runtime-Deadline-Ms": str(deadline),
                        "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:%s:%s:function:%s" % (
                            region.name, region.api_account, region.info["function_name"]),
                        "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000;Sampled=0",
                    })

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                parts = self.path[len(RUNTIME_PREFIX):].strip("/").split("/")
                if parts[:2] == ["init", "error"]:
                    return self._reply(202, b"{}")
                if len(parts) == 3 and parts[0] == "invocation":
                    with region.lock:
                        inv = region.inflight.pop(parts[1], None)
                    if inv is not None:
                        if parts[2] == "response":
                            try:
                                inv.response = json.loads(body)
                            except ValueError:
                                inv.error = "unparseable function response"
                        else:
                            inv.error = "function error: " + body[:200].decode(errors="replace")
                        inv.done.set()
                    return self._reply(202, b"{}")
                return self._reply(404)

        return H

    # ------------------------------------------------------------ API Gateway
    def _match(self, method, path):
        for r in self.info["routes"]:
            pat = "^" + re.sub(r"\\\{[^/]+\\\}", "([^/]+)", re.escape(r["path"])) + "$"
            m = re.match(pat, path)
            if m:
                names = re.findall(r"\{([^/]+)\}", r["path"])
                params = dict(zip(names, m.groups())) or None
                if r["method"] == method:
                    return r, params, None
                same_path = r
        return None, None, ("method" if any(
            re.match("^" + re.sub(r"\\\{[^/]+\\\}", "([^/]+)", re.escape(r["path"])) + "$", path)
            for r in self.info["routes"]) else "path")

    def identity(self, headers, source_ip, user_agent):
        ident = {
            "cognitoIdentityPoolId": None, "accountId": None, "cognitoIdentityId": None,
            "caller": None, "sourceIp": source_ip, "principalOrgId": None, "accessKey": None,
            "cognitoAuthenticationType": None, "cognitoAuthenticationProvider": None,
            "userArn": None, "userAgent": user_agent, "user": None,
        }
        auth = headers.get("Authorization") or ""
        m = re.match(r"AWS4-HMAC-SHA256 Credential=([A-Z0-9]+)/\d{8}/([a-z0-9-]+)/execute-api/aws4_request", auth)
        if not m:
            return ident, None
        key, scope_region = m.groups()
        if scope_region != self.name:
            return ident, "Credential should be scoped to a valid region. "
        p = PRINCIPALS.get(key)
        if p is None:
            return ident, "The security token included in the request is invalid."
        ident.update(p)
        ident["accessKey"] = key
        return ident, None

    def _api_handler(self):
        region = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *a):
                pass

            def _reply(self, code, body, headers=None):
                if isinstance(body, str):
                    body = body.encode()
                self.send_response(code)
                hs = {"Content-Type": "application/json", "x-amzn-RequestId": str(uuid.uuid4())}
                hs.update(headers or {})
                for k, v in hs.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self._handle()

            def do_POST(self):
                self._handle()

            def do_PUT(self):
                self._handle()

            def do_DELETE(self):
                self._handle()

            def _handle(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                host = (self.headers.get("Host") or "").split(":")[0].lower()
                url = urlsplit(self.path)
                stage = region.info["stage"]
                if host == region.info["api_host"].lower():
                    if not (url.path + "/").startswith("/%s/" % stage):
                        return self._reply(403, '{"message":"Forbidden"}')
                    path = url.path[len(stage) + 1:] or "/"
                elif region.custom_domain and host == region.custom_domain.lower():
                    path = url.path  # base path mapping "" -> stage
                else:
                    # Unknown host name: no TLS certificate / domain here.
                    return self._reply(403, '{"message":"Forbidden"}')
                route, params, miss = region._match(self.command, path)
                if route is None:
                    return self._reply(403, '{"message":"Missing Authentication Token"}')
                headers = {k: v for k, v in self.headers.items()}
                ident, auth_err = region.identity(headers, "127.0.0.1", headers.get("User-Agent"))
                if auth_err:
                    return self._reply(403, json.dumps({"message": auth_err}))
                if route["authorization"] == "AWS_IAM" and ident["accountId"] is None:
                    return self._reply(403, '{"message":"Missing Authentication Token"}')
                missing = [h for h in route["required_headers"]
                           if not any(k.lower() == h.lower() for k in headers)]
                if missing:
                    return self._reply(400, json.dumps(
                        {"message": "Missing required request parameters: [%s]" % ", ".join(missing)}))
                q = parse_qs(url.query, keep_blank_values=True)
                now = time.time()
                rid = str(uuid.uuid4())
                event = {
                    "resource": route["path"],
                    "path": path,
                    "httpMethod": self.command,
                    "headers": headers,
                    "multiValueHeaders": {k: [v] for k, v in headers.items()},
                    "queryStringParameters": {k: v[-1] for k, v in q.items()} or None,
                    "multiValueQueryStringParameters": q or None,
                    "pathParameters": params,
                    "stageVariables": None,
                    "requestContext": {
                        "resourceId": "drill0",
                        "resourcePath": route["path"],
                        "httpMethod": self.command,
                        "extendedRequestId": base64.b64encode(os.urandom(9)).decode(),
                        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                        "path": "/%s%s" % (stage, path),
                        "accountId": region.api_account,
                        "protocol": "HTTP/1.1",
                        "stage": stage,
                        "domainPrefix": host.split(".")[0],
                        "requestTimeEpoch": int(now * 1000),
                        "requestId": rid,
                        "identity": ident,
                        "domainName": host,
                        "apiId": region.info["api_id"],
                    },
                    "body": body.decode() if body else None,
                    "isBase64Encoded": False,
                }
                resp, err = region.invoke(event, min(29.0, region.info["timeout_s"]))
                if resp is None:
                    if err == "timeout":
                        return self._reply(504, '{"message":"Endpoint request timed out"}')
                    return self._reply(502, '{"message":"Internal server error"}')
                out = resp.get("body") or ""
                if resp.get("isBase64Encoded"):
                    out = base64.b64decode(out)
                hs = dict(resp.get("headers") or {})
                for k, vs in (resp.get("multiValueHeaders") or {}).items():
                    hs[k] = ",".join(vs)
                hs["x-amzn-RequestId"] = rid
                self._reply(int(resp.get("statusCode", 502)), out, hs)

        return H

    # ------------------------------------------------------------ DynamoDB
    def _ddb_handler(self):
        region = self
        local = threading.local()

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                target = self.headers.get("X-Amz-Target", "")
                op = target.split(".")[-1]
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "content-length", "connection")}
                for k in list(headers):
                    if k.lower() == "authorization" and region.name != region.home_region:
                        headers[k] = headers[k].replace(
                            "/%s/dynamodb/" % region.name, "/%s/dynamodb/" % region.home_region)
                t = time.monotonic()
                status, data, rh = None, b"", []
                for attempt in (0, 1):
                    conn = getattr(local, "conn", None)
                    if conn is None:
                        conn = local.conn = http.client.HTTPConnection(region.moto.hostname, region.moto.port, timeout=10)
                        try:
                            conn.connect()
                            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                        except OSError:
                            pass
                    try:
                        conn.request("POST", self.path, body=body, headers=headers)
                        r = conn.getresponse()
                        status, data, rh = r.status, r.read(), r.getheaders()
                        break
                    except (OSError, http.client.HTTPException):
                        local.conn = None
                        conn.close()
                if op in WRITE_OPS:
                    with region.lock:
                        region.ddb_writes.append((t, op, status))
                if status is None:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(status)
                for k, v in rh:
                    if k.lower() not in ("content-length", "connection", "transfer-encoding", "server", "date"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return H
