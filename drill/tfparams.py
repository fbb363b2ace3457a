"""Drill parameters read from the generated Terraform tree (never constants).

Reads, at run time:
  * envs/<env>/global/main.tf.json (the global root) and modules/global/*.tf.json:
    the failover records, the health check of the PRIMARY record (request
    interval, failure threshold, resource path, fqdn/SNI), the TTL;
  * envs/<env>/{primary,dr}/main.tf.json and modules/{primary,dr}/*.tf.json:
    each region (provider region), the Lambda function's environment
    variables, timeout, memory, name, and the REST API routes (resources,
    methods, authorization, required headers) and stage.

Module variables are resolved from the arguments the root passes (and the
variables' defaults); `${data.terraform_remote_state.L.outputs.O}` is
followed into root L's module outputs. Attributes only known after apply
(ids, ARNs, endpoints) are "computed": the drill replaces the ones it needs
with local values (rest API id, region, topic ARN, DB host) and refuses to
run if any other one reaches the function's environment.
"""

import hashlib
import json
import os
import re
import subprocess


class Computed(Exception):
    """An expression whose value is only known after apply."""


def _load(path):
    with open(path) as f:
        return json.load(f)


def _load_dir(path):
    """Merges every *.tf.json of a directory (Terraform does the same)."""
    merged = {}
    for name in sorted(os.listdir(path)):
        if not name.endswith(".tf.json"):
            continue
        doc = _load(os.path.join(path, name))
        for block, body in doc.items():
            if isinstance(body, dict):
                dst = merged.setdefault(block, {})
                for k, v in body.items():
                    if isinstance(v, dict) and isinstance(dst.get(k), dict):
                        dst[k] = {**dst[k], **v}
                    else:
                        dst[k] = v
            else:
                merged[block] = body
    return merged


_INTERP = re.compile(r"\$\{([^{}]*)\}")
_TRAVERSAL = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*|\[[0-9]+\])*$")


def _split(expr):
    parts = []
    for m in re.finditer(r"([A-Za-z_][A-Za-z0-9_-]*)|\[([0-9]+)\]", expr):
        parts.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
    return parts


class Root:
    """One root directory (envs/<env>/<layer>) and the module it calls."""

    def __init__(self, repo, env, layer, computed):
        self.repo, self.env, self.layer = repo, env, layer
        self.dir = os.path.join(repo, "envs", env, layer)
        self.doc = _load_dir(self.dir)
        self.computed = computed  # callback(layer, expr) -> value or raise Computed
        (self.module_name, self.call), = self.doc["module"].items()
        self.module_dir = os.path.normpath(os.path.join(self.dir, self.call["source"]))
        self.module = _load_dir(self.module_dir)
        provider = self.doc.get("provider", {}).get("aws")
        provs = provider if isinstance(provider, list) else [provider]
        self.region = next(p["region"] for p in provs if p and "alias" not in p)

    # ---- module side -------------------------------------------------
    def var(self, name):
        if name in self.call:
            return self.call[name]
        decl = self.module.get("variable", {}).get(name)
        if decl is not None and "default" in decl:
            return decl["default"]
        raise KeyError("module %s: variable %s has no value" % (self.module_name, name))

    def resource(self, rtype, name):
        return self.module["resource"][rtype][name]

    def eval_module(self, value):
        """Evaluates a value written inside the module."""
        return self._eval(value, self._module_ref)

    def _module_ref(self, parts):
        head = parts[0]
        if head == "var":
            v = self.var(parts[1])
            for p in parts[2:]:
                v = v[p]  # traverse the raw argument, evaluate only the leaf
            return self.eval_root(v)
        if head == "data" and parts[1] == "aws_region":
            return self.region
        if head in ("data", "local", "module", "path", "each", "count"):
            raise Computed(".".join(map(str, parts)))
        # resource attribute: a literal argument, else computed
        rtype, rname, *rest = parts
        body = self.module.get("resource", {}).get(rtype, {}).get(rname)
        if body is None:
            raise KeyError("unknown reference %s" % ".".join(map(str, parts)))
        if rest and isinstance(rest[0], str) and rest[0] in body and len(rest) == 1:
            return self.eval_module(body[rest[0]])
        return self.computed(self, ".".join(map(str, parts)))

    # ---- root side ---------------------------------------------------
    def eval_root(self, value):
        return self._eval(value, self._root_ref)

    def _root_ref(self, parts):
        if parts[:2] == ["data", "terraform_remote_state"]:
            producer = ROOTS[parts[2]]
            assert parts[3] == "outputs"
            return producer.output(parts[4])
        if parts[0] == "module":
            return self.output(parts[2]) if parts[1] == self.module_name else None
        if parts[0] == "path":
            raise Computed("path")
        raise Computed(".".join(map(str, parts)))

    def output(self, name):
        """A root output (= the module output of the same name)."""
        root_out = self.doc.get("output", {}).get(name)
        if root_out is not None:
            v = root_out["value"]
            m = re.fullmatch(r"\$\{module\.[A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)\}", v) if isinstance(v, str) else None
            if m:
                name = m.group(1)
            else:
                return self.eval_root(v)
        return self.eval_module(self.module["output"][name]["value"])

    # ---- evaluation --------------------------------------------------
    def _eval(self, value, ref):
        if isinstance(value, dict):
            return {k: self._eval(v, ref) for k, v in value.items()}
        if isinstance(value, list):
            return [self._eval(v, ref) for v in value]
        if not isinstance(value, str) or "${" not in value:
            return value
        if value.startswith("${") and _close(value, 2) == len(value) - 1:
            inner = value[2:-1].strip()
            if not _TRAVERSAL.match(inner):
                # Conditionals, comparisons and templates (e.g. the health
                # check's fqdn with mutual TLS off): a small evaluator that
                # evaluates only the branch taken.
                return _Expr(inner, lambda parts: self._ref_or_local(parts, ref)).value()
        whole = _INTERP.fullmatch(value)
        if whole:
            expr = whole.group(1).strip()
            if not _TRAVERSAL.match(expr):
                raise Computed(expr)
            return ref(_split(expr))

        def sub(m):
            expr = m.group(1).strip()
            if not _TRAVERSAL.match(expr):
                raise Computed(expr)
            return str(ref(_split(expr)))

        return _INTERP.sub(sub, value)


    def _ref_or_local(self, parts, ref):
        if parts[0] == "local" and ref == self._module_ref:
            return self.eval_module(self.module["locals"][parts[1]])
        return ref(parts)


def _close(s, i):
    """Index of the `}` closing the interpolation whose body starts at i."""
    depth, q = 1, False
    while i < len(s):
        c = s[i]
        if q:
            if c == "\\":
                i += 1
            elif c == '"':
                q = False
            elif s.startswith("${", i):
                j = _close(s, i + 2)
                if j < 0:
                    return -1
                i = j
        elif c == '"':
            q = True
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


class _Expr:
    """Evaluates the HCL subset the generated tree uses where the drill reads
    it: `(c ? a : b)`, `&&`, `||`, `==`, `!=`, `!`, null/true/false, numbers,
    "strings" with ${...} and traversals (resolved by `ref`). Anything else,
    function calls included, raises Computed, but only if it is evaluated."""

    _TOK = re.compile(r'\s*(\$\{|"|&&|\|\||==|!=|[?:()!]|[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*|\[[0-9]+\])*|[0-9]+)')

    def __init__(self, text, ref):
        self.s, self.i, self.ref = text, 0, ref

    def value(self):
        v = self.cond(True)
        if self.s[self.i:].strip():
            raise Computed(self.s)
        return v

    def _peek(self, tok):
        return self.s[self.i:].lstrip().startswith(tok)

    def _take(self, tok):
        rest = self.s[self.i:]
        j = len(rest) - len(rest.lstrip())
        if rest[j:].startswith(tok):
            self.i += j + len(tok)
            return True
        return False

    def cond(self, live):
        c = self.or_(live)
        if self._take("?"):
            a = self.cond(live and bool(c))
            if not self._take(":"):
                raise Computed(self.s)
            b = self.cond(live and not bool(c))
            return a if c else b
        return c

    def or_(self, live):
        v = self.and_(live)
        while self._peek("||"):
            self._take("||")
            w = self.and_(live and not v)
            v = v or w
        return v

    def and_(self, live):
        v = self.cmp(live)
        while self._peek("&&"):
            self._take("&&")
            w = self.cmp(live and bool(v))
            v = v and w
        return v

    def cmp(self, live):
        v = self.unary(live)
        for op in ("==", "!="):
            if self._take(op):
                w = self.unary(live)
                return (v == w) if op == "==" else (v != w)
        return v

    def unary(self, live):
        if self._take("!"):
            return not self.unary(live)
        if self._take("("):
            v = self.cond(live)
            if not self._take(")"):
                raise Computed(self.s)
            return v
        if self._peek('"'):
            return self.string(live)
        m = self._TOK.match(self.s, self.i)
        if not m:
            raise Computed(self.s)
        tok = m.group(1)
        self.i = m.end()
        if tok in ("null", "true", "false"):
            return {"null": None, "true": True, "false": False}[tok]
        if tok.isdigit():
            return int(tok)
        if self._peek("("):
            # A function call: skip it; only an evaluated one is an error.
            depth, self.i = 0, self.s.index("(", self.i)
            while True:
                c = self.s[self.i]
                depth += {"(": 1, ")": -1}.get(c, 0)
                self.i += 1
                if depth == 0:
                    break
            if live:
                raise Computed(tok + "(...)")
            return None
        return self.ref(_split(tok)) if live else None

    def string(self, live):
        self._take('"')
        out = []
        while self.i < len(self.s):
            c = self.s[self.i]
            if c == '"':
                self.i += 1
                return "".join(out)
            if c == "\\":
                out.append(self.s[self.i + 1])
                self.i += 2
            elif self.s.startswith("${", self.i):
                j = _close(self.s, self.i + 2)
                inner = _Expr(self.s[self.i + 2:j], self.ref)
                out.append(str(inner.cond(live)) if live else "")
                self.i = j + 1
            else:
                out.append(c)
                self.i += 1
        raise Computed(self.s)


ROOTS = {}


def fake_api_id(root):
    return hashlib.sha256(("%s/%s" % (root.env, root.layer)).encode()).hexdigest()[:10]


def _computed(root, expr):
    # The REST API id is assigned by AWS; the drill invents a stable one.
    if re.fullmatch(r"aws_api_gateway_rest_api\.[A-Za-z0-9_-]+\.id", expr):
        return fake_api_id(root)
    raise Computed(expr)


def posture_rto(repo, env):
    """`drgen posture --env ENV`: RTO seconds and its terms (interval x
    threshold + alias TTL + warm standby)."""
    cmd = os.environ.get("DRGEN", "cargo run -q -p drgen --").split() + ["posture", "--env", env]
    out = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, timeout=600)
    for line in out.stdout.splitlines():
        m = re.search(r"RTO .*?expected ([0-9.]+) s = ([0-9.]+)x([0-9.]+) \+ ([0-9.]+) \+ ([0-9.]+)", line)
        if m:
            rto, interval, threshold, alias_ttl, warm = map(float, m.groups())
            return {"rto_s": rto, "interval_s": interval, "threshold": threshold,
                    "alias_ttl_s": alias_ttl, "warm_s": warm, "line": line.strip()}
    raise RuntimeError("drgen posture --env %s printed no RTO line:\n%s%s" % (env, out.stdout, out.stderr))


def _api_routes(root):
    """REST API routes of a regional module: [(method, path, authorization,
    required_headers)] from aws_api_gateway_{resource,method}."""
    res = root.module["resource"]
    resources = res.get("aws_api_gateway_resource", {})

    def path_of(ref):
        m = re.fullmatch(r"\$\{aws_api_gateway_resource\.([A-Za-z0-9_-]+)\.id\}", ref)
        if not m:
            return ""  # the rest API's root resource
        r = resources[m.group(1)]
        return path_of(r["parent_id"]) + "/" + r["path_part"]

    routes = []
    for _, meth in sorted(res.get("aws_api_gateway_method", {}).items()):
        if "count" in meth:
            continue  # the health-only API of mutual TLS mode (conditional)
        headers = [k.split(".", 3)[3] for k, req in (meth.get("request_parameters") or {}).items()
                   if k.startswith("method.request.header.") and req]
        routes.append({"method": meth["http_method"], "path": path_of(meth["resource_id"]),
                       "authorization": meth.get("authorization", "NONE"), "required_headers": headers})
    return routes


def load(repo, env):
    """Everything the drill needs from the generated tree."""
    ROOTS.clear()
    for layer in ("primary", "dr", "global"):
        ROOTS[layer] = Root(repo, env, layer, _computed)
    g = ROOTS["global"]
    records = g.module["resource"]["aws_route53_record"]
    checks = g.module["resource"].get("aws_route53_health_check", {})

    def hc_of(rec):
        ref = rec.get("health_check_id")
        if not ref:
            return None
        name = re.fullmatch(r"\$\{aws_route53_health_check\.([A-Za-z0-9_-]+)\.id\}", ref).group(1)
        body = checks[name]
        return {
            "resource": "aws_route53_health_check." + name,
            "type": body.get("type", "HTTP"),
            "fqdn": g.eval_module(body["fqdn"]),
            "port": int(body.get("port", 443)),
            "resource_path": g.eval_module(body["resource_path"]),
            "request_interval_s": float(g.eval_module(body.get("request_interval", 30))),
            "failure_threshold": int(g.eval_module(body.get("failure_threshold", 3))),
            "enable_sni": bool(body.get("enable_sni", False)),
        }

    failover = {}
    for name, rec in records.items():
        pol = rec.get("failover_routing_policy")
        if not pol:
            continue
        pol = pol[0] if isinstance(pol, list) else pol
        alias = rec.get("alias")
        alias = alias[0] if isinstance(alias, list) else alias
        failover[pol["type"]] = {
            "resource": "aws_route53_record." + name,
            "name": g.eval_module(rec["name"]),
            "ttl_s": float(rec["ttl"]) if "ttl" in rec else None,
            "alias": bool(alias),
            "evaluate_target_health": bool(alias and alias.get("evaluate_target_health")),
            "health_check": hc_of(rec),
        }
    if "PRIMARY" not in failover or "SECONDARY" not in failover:
        raise RuntimeError("the global module has no PRIMARY/SECONDARY failover records (DNS mode b needed)")

    posture = posture_rto(repo, env)
    pri = failover["PRIMARY"]
    if pri["ttl_s"] is None:
        # Alias records have no TTL of their own: clients cache the alias
        # target's TTL. The value is the one drgen posture uses.
        pri["ttl_s"] = posture["alias_ttl_s"]
        pri["ttl_source"] = "alias target TTL (drgen posture)"
    else:
        pri["ttl_source"] = pri["resource"] + ".ttl"
    if failover["SECONDARY"]["ttl_s"] is None:
        failover["SECONDARY"]["ttl_s"] = pri["ttl_s"]

    regions = {}
    for layer in ("primary", "dr"):
        r = ROOTS[layer]
        (fname, fn), = r.module["resource"]["aws_lambda_function"].items()
        env_vars, computed = {}, {}
        for k, v in fn.get("environment", {}).get("variables", {}).items():
            try:
                env_vars[k] = str(r.eval_module(v))
            except Computed:
                computed[k] = v
        # The payment stage; the health-only API's stage (mutual TLS mode)
        # is conditional (count).
        (sname, stage), = [(k, v) for k, v in r.module["resource"]["aws_api_gateway_stage"].items()
                           if "count" not in v]
        regions[layer] = {
            "layer": layer,
            "region": r.region,
            "function_name": r.eval_module(fn["function_name"]),
            "timeout_s": float(r.eval_module(fn.get("timeout", 3))),
            "memory_mb": int(r.eval_module(fn.get("memory_size", 128))),
            "reserved_concurrency": r.eval_module(fn.get("reserved_concurrent_executions", -1)),
            "env": env_vars,
            "env_computed": computed,
            "stage": r.eval_module(stage["stage_name"]),
            "api_host": r.output("api_host"),
            "api_id": fake_api_id(r),
            "routes": _api_routes(r),
        }
    for kind in ("PRIMARY", "SECONDARY"):
        hc = failover[kind]["health_check"]
        if hc:
            hc["region_layer"] = next(l for l, reg in regions.items() if reg["api_host"] == hc["fqdn"])
    return {
        "env": env,
        "failover": failover,
        "regions": regions,
        "posture": posture,
        "sources": {
            "global_root": os.path.relpath(g.dir, repo),
            "global_module": os.path.relpath(g.module_dir, repo),
            "primary_module": os.path.relpath(ROOTS["primary"].module_dir, repo),
            "dr_module": os.path.relpath(ROOTS["dr"].module_dir, repo),
        },
    }


if __name__ == "__main__":
    import sys
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    print(json.dumps(load(repo, sys.argv[1] if len(sys.argv) > 1 else "prod"), indent=2))
