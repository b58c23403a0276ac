"""Unit tests of the ServerApp's arithmetic (no flwr needed): /usr/bin/python3 -m unittest discover -s flower/fedtune_app"""

import unittest
from collections import OrderedDict

import numpy as np

from fedtune_app.central_eval import evaluate_mlp
from fedtune_app.named_aggregate import PartialArraysError, aggregate_named


class NamedAggregateTest(unittest.TestCase):
    current = OrderedDict(body=np.zeros(2, np.float32), head=np.full(1, 9.0, np.float32))

    def test_each_name_is_the_weighted_mean_of_its_senders(self):
        replies = [
            ("a", {"body": np.array([1.0, 2.0], np.float32)}, 1.0),
            ("b", {"body": np.array([4.0, 8.0], np.float32), "head": np.array([3.0], np.float32)}, 3.0),
        ]
        out, contributors = aggregate_named(replies, self.current)
        np.testing.assert_array_equal(out["body"], np.array([(1 + 12) / 4, (2 + 24) / 4], np.float32))
        np.testing.assert_array_equal(out["head"], np.array([3.0], np.float32))  # only b sent it
        self.assertEqual(contributors, {"body": 2, "head": 1})
        self.assertEqual(list(out), ["body", "head"])
        self.assertEqual(out["body"].dtype, np.float32)

    def test_nobody_sent_it_keeps_the_current_value(self):
        out, contributors = aggregate_named([("a", {}, 5.0)], self.current)
        np.testing.assert_array_equal(out["head"], self.current["head"])
        self.assertEqual(contributors["body"], 0)

    def test_bad_replies_name_node_and_array(self):
        with self.assertRaisesRegex(PartialArraysError, "node a sent array 'tail'"):
            aggregate_named([("a", {"tail": np.zeros(1)}, 1.0)], self.current)
        with self.assertRaisesRegex(PartialArraysError, r"node b sent array 'body' with shape \(3,\)"):
            aggregate_named([("b", {"body": np.zeros(3)}, 1.0)], self.current)
        with self.assertRaisesRegex(PartialArraysError, "NaN or Inf"):
            aggregate_named([("c", {"head": np.array([np.nan])}, 1.0)], self.current)
        with self.assertRaisesRegex(PartialArraysError, "node d: num-examples must be > 0"):
            aggregate_named([("d", {}, 0.0)], self.current)


class CentralEvalTest(unittest.TestCase):
    def test_mlp_loss_and_accuracy_by_hand(self):
        # One hidden unit (relu) then two classes: logits = [h, -h] with h = relu(x).
        arrays = OrderedDict(
            [("hidden_1/kernel", np.array([[1.0]])), ("hidden_1/bias", np.array([0.0])),
             ("head/kernel", np.array([[1.0, -1.0]])), ("head/bias", np.array([0.0, 0.0]))]
        )
        x = np.array([[2.0], [-1.0]])
        y = np.array([0, 1])
        m = evaluate_mlp(arrays, x, y)
        # sample 1: logits [2, -2] → p0 = 1/(1+e^-4), right; sample 2: h = 0 → [0, 0], argmax 0, wrong.
        expected = (-np.log(1 / (1 + np.exp(-4))) + np.log(2)) / 2
        self.assertAlmostEqual(m["loss"], expected, places=12)
        self.assertEqual(m["accuracy"], 0.5)
        with self.assertRaisesRegex(ValueError, "'bn_1/gamma' is neither"):
            evaluate_mlp(OrderedDict([("bn_1/gamma", np.ones(1))]), x, y)


if __name__ == "__main__":
    unittest.main()
