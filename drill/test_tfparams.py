"""Unit tests of the drill's reader of the generated tree (tfparams.py):
the expression subset it evaluates, and the parameters it reads from the
committed prod tree. Run: python3 drill/test_tfparams.py (part of make drill-ci)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tfparams  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def ev(text, env=None):
    env = env or {}
    return tfparams._Expr(text, lambda parts: env[".".join(map(str, parts))]).value()


class ExprTest(unittest.TestCase):
    def test_conditional_evaluates_only_the_branch_taken(self):
        env = {"local.mtls": False, "var.primary.api_host": "h.example"}
        self.assertEqual(ev("(local.mtls ? one(x.y[*].z) : var.primary.api_host)", env), "h.example")
        with self.assertRaises(tfparams.Computed):
            ev("(local.mtls ? one(x.y[*].z) : var.primary.api_host)", {**env, "local.mtls": True})

    def test_templates_inside_strings(self):
        env = {"local.mtls": False, "var.dr.api_stage_name": "live"}
        self.assertEqual(
            ev('(local.mtls ? "/health?require=writable" : "/${var.dr.api_stage_name}/health?require=writable")', env),
            "/live/health?require=writable")

    def test_comparisons_and_logic(self):
        env = {"var.a": None, "var.b": "x"}
        self.assertIs(ev("((var.a != null) && (var.b != null))", env), False)
        self.assertIs(ev("((var.a == null) || (var.b == null))", env), True)
        self.assertIs(ev("!(var.b == null)", env), True)

    def test_unknown_syntax_is_computed(self):
        with self.assertRaises(tfparams.Computed):
            ev("[for x in var.b : x]", {"var.b": []})


class TreeTest(unittest.TestCase):
    def test_prod_health_check_comes_from_the_tree(self):
        p = tfparams.load(REPO, "prod")
        hc = p["failover"]["PRIMARY"]["health_check"]
        self.assertEqual(hc["resource_path"], "/live/health?require=writable")
        self.assertEqual((hc["request_interval_s"], hc["failure_threshold"]), (10.0, 3))
        routes = p["regions"]["primary"]["routes"]
        self.assertEqual(sorted((r["method"], r["path"], r["authorization"]) for r in routes),
                         [("GET", "/health", "NONE"), ("GET", "/payments/{id}", "AWS_IAM"),
                          ("POST", "/payments", "AWS_IAM")])


if __name__ == "__main__":
    unittest.main()
