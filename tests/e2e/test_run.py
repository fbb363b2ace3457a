"""Unit tests of the e2e driver's re-plan check and leftover proof.

    python3 -m unittest tests.e2e.test_run
"""
from __future__ import annotations

import argparse
import tempfile
import unittest
from pathlib import Path

from tests.e2e import run
from tests.emulator import launcher


def change(rtype: str, before: dict, after: dict, actions=("update",)) -> dict:  # type: ignore[no-untyped-def]
    return {"address": f"module.m.{rtype}.x", "type": rtype,
            "change": {"actions": list(actions), "before": before, "after": after, "after_unknown": {}}}


class Replan(unittest.TestCase):
    ENTRIES = [{"type": "aws_x", "attribute": "cfg.mode", "emulator_behaviour": "not stored"}]

    def test_no_op_is_clean(self) -> None:
        used: set = set()
        plan = {"resource_changes": [change("aws_x", {"a": 1}, {"a": 1}, ("no-op",))]}
        self.assertEqual(run.check_replan(plan, self.ENTRIES, used), [])
        self.assertEqual(used, set())

    def test_allowlisted_diff_passes_and_is_used(self) -> None:
        used: set = set()
        plan = {"resource_changes": [change("aws_x", {"cfg": [{"mode": "a"}]}, {"cfg": [{"mode": "b"}]})]}
        self.assertEqual(run.check_replan(plan, self.ENTRIES, used), [])
        self.assertEqual(used, {("aws_x", "cfg.mode")})

    def test_other_attribute_or_type_fails(self) -> None:
        plan = {"resource_changes": [change("aws_x", {"name": "a"}, {"name": "b"}),
                                     change("aws_y", {"cfg": [{"mode": "a"}]}, {"cfg": [{"mode": "b"}]})]}
        problems = run.check_replan(plan, self.ENTRIES, set())
        self.assertEqual(len(problems), 2, problems)
        self.assertIn('name: "a" -> "b"', problems[0])

    def test_replace_always_fails(self) -> None:
        plan = {"resource_changes": [change("aws_x", {"cfg": [{"mode": "a"}]}, {"cfg": [{"mode": "b"}]},
                                            ("delete", "create"))]}
        self.assertEqual(len(run.check_replan(plan, self.ENTRIES, set())), 1)

    def test_null_and_empty_are_equal(self) -> None:
        plan = {"resource_changes": [change("aws_x", {"d": None, "l": []}, {"d": "", "l": None})]}
        self.assertEqual(run.check_replan(plan, [], set()), [])


class Leftovers(unittest.TestCase):
    def test_verify_empty_finds_a_leftover_and_passes_when_clean(self) -> None:
        d = Path(tempfile.mkdtemp(prefix="drgen-e2e-test-"))
        url = launcher.start(d, None, None)
        try:
            r = run.EnvRun("dev", argparse.Namespace(), "drgen")
            r.endpoint = url
            s3 = r.boto("s3", r.state_region)
            s3.create_bucket(Bucket=r.state_bucket, CreateBucketConfiguration={"LocationConstraint": r.state_region})
            r.verify_empty()
            r.boto("sns", "us-east-2").create_topic(Name="alerts-dev")
            r.boto("ec2", "us-east-1").create_vpc(CidrBlock="10.10.0.0/16")
            with self.assertRaises(run.StepFailed) as e:
                r.verify_empty()
            self.assertIn("sns topic", str(e.exception))
            self.assertIn("vpc vpc-", str(e.exception))
        finally:
            launcher.stop(d, quiet=True)


if __name__ == "__main__":
    unittest.main()
