"""Parameters in containers (JAX's pytrees): lists, tuples, dicts, NamedTuples, dataclasses,
nested in any mix, with numbers and arrays as leaves. The gradient comes back in the same
structure; Jacobians and Hessians take the leaves in order as columns.

References: mpmath at 50 digits (tests/reference.py) of the same loss written over the leaves as
separate arguments (``flat_*``), never symdiff's own output.
"""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pytest

from symdiff import SymdiffError, emit, grad, hessian, jacobian, value_and_grad
from symdiff.errors import ArgumentError, ExportError

from .reference import mp_grad, mp_hessian

RNG = np.random.default_rng(5)
X = RNG.normal(size=(6, 3))
Y = RNG.normal(size=6)
W1 = RNG.normal(size=(3, 4))
B1 = RNG.normal(size=4)
W2 = RNG.normal(size=4)
B2 = 0.3


class Params(NamedTuple):
    W: np.ndarray
    b: float


@dataclass
class Layer:
    W: np.ndarray
    b: np.ndarray


def close(got, want):
    want = np.asarray(want, dtype=float)
    assert np.shape(got) == np.shape(want)
    assert np.allclose(got, want, rtol=1e-10, atol=1e-12), (got, want)


# ---- a list of arrays and a number, unpacked ----
def mlp_list(params, X, y):
    W1, b1, W2, b2 = params
    h = np.tanh(X @ W1 + b1)
    return np.mean((h @ W2 + b2 - y) ** 2)


def flat_mlp(W1, b1, W2, b2):
    h = np.tanh(X @ W1 + b1)
    return np.mean((h @ W2 + b2 - Y) ** 2)


def test_a_list_of_parameters():
    params = [W1, B1, W2, B2]
    value, g = value_and_grad(mlp_list, wrt="params")(params, X, Y)
    assert value == mlp_list(params, X, Y)
    assert isinstance(g, list) and len(g) == 4
    for got, want in zip(g, mp_grad(flat_mlp, (W1, B1, W2, B2))):
        close(got, want)


def test_a_tuple_keeps_being_a_tuple_and_every_argument_is_differentiated_by_default():
    params = (W1, B1, W2, B2)
    g_params, g_X, g_y = grad(mlp_list)(params, X, Y)
    assert isinstance(g_params, tuple) and g_X.shape == X.shape and g_y.shape == Y.shape
    for got, want in zip(g_params, mp_grad(flat_mlp, params)):
        close(got, want)


# ---- dicts, nested ----
def mlp_dict(params, X, y):
    (W1, b1), (W2, b2) = params["layers"]
    h = np.tanh(X @ W1 + b1)
    return np.sum((h @ W2 + b2 - y) ** 2) * params["scale"]


def flat_mlp_dict(W1, b1, W2, b2, scale):
    h = np.tanh(X @ W1 + b1)
    return np.sum((h @ W2 + b2 - Y) ** 2) * scale


def test_a_nested_dict():
    params = {"layers": [(W1, B1), (W2, B2)], "scale": 0.5}
    g = grad(mlp_dict, wrt="params")(params, X, Y)
    assert list(g) == ["layers", "scale"] and isinstance(g["layers"], list)
    assert all(isinstance(layer, tuple) for layer in g["layers"])
    want = mp_grad(flat_mlp_dict, (W1, B1, W2, B2, 0.5))
    got = [g["layers"][0][0], g["layers"][0][1], g["layers"][1][0], g["layers"][1][1], g["scale"]]
    for a, b in zip(got, want):
        close(a, b)


def l2(params):
    total = 0.0
    for name, value in params.items():
        total = total + np.sum(value * value) * (2.0 if name == "W" else 1.0)
    return total


def test_dict_items_values_keys():
    params = {"W": W1, "b": B1}
    g = grad(l2)(params)
    close(g["W"], 4.0 * W1)  # by hand: d(2 sum W^2) = 4 W
    close(g["b"], 2.0 * B1)


# ---- NamedTuple and dataclass ----
def linear_nt(p, X, y):
    return np.mean((X @ p.W + p.b - y) ** 2)


def flat_linear(W, b):
    return np.mean((X @ W + b - Y) ** 2)


def layer_loss(layer, X):
    return np.sum(np.sin(X @ layer.W + layer.b))


def flat_layer(W, b):
    return np.sum(np.sin(X @ W + b))


def test_a_named_tuple():
    p = Params(RNG.normal(size=3), -0.7)
    g = grad(linear_nt, wrt="p")(p, X, Y)
    assert type(g) is Params
    for got, want in zip(g, mp_grad(flat_linear, (p.W, p.b))):
        close(got, want)


def test_a_dataclass():
    layer = Layer(W1, B1)
    g = grad(layer_loss, wrt="layer")(layer, X)
    assert type(g) is Layer
    want = mp_grad(flat_layer, (W1, B1))
    close(g.W, want[0])
    close(g.b, want[1])


# ---- ints, the generated code, Jacobians and Hessians ----
def test_int_leaves_are_differentiated_as_floats():
    g = grad(linear_nt, wrt="p")(Params(np.array([1, 2, 0]), 1), X, Y)
    want = mp_grad(flat_linear, (np.array([1.0, 2.0, 0.0]), 1.0))
    close(g.W, want[0])
    close(g.b, want[1])


def test_the_generated_code_reads_leaves_and_builds_the_structure():
    g = grad(mlp_dict, wrt="params")
    g({"layers": [(W1, B1), (W2, B2)], "scale": 0.5}, X, Y)
    source = g.source
    assert "params_layers_0_0 = params['layers'][0][0]" in source
    assert "return {'layers': [(" in source
    module = emit(mlp_dict, wrt="params", args=({"layers": [(W1, B1), (W2, B2)], "scale": 0.5}, X, Y))
    namespace = {}
    exec(compile(module, "<emitted>", "exec"), namespace)
    value, exported = namespace["mlp_dict_value_and_grad"]({"layers": [(W1, B1), (W2, B2)], "scale": 0.5}, X, Y)
    assert value == mlp_dict({"layers": [(W1, B1), (W2, B2)], "scale": 0.5}, X, Y)
    close(exported["layers"][0][0], g({"layers": [(W1, B1), (W2, B2)], "scale": 0.5}, X, Y)["layers"][0][0])


def flat_quadratic(W, b):
    return np.sum(np.sin(X @ W) * b ** 2)


def quadratic(params):
    return np.sum(np.sin(X @ params["W"]) * params["b"] ** 2)


def vector(params):
    return X @ params["W"] + params["b"]


def test_hessian_and_jacobian_take_the_leaves_in_order():
    W, b = RNG.normal(size=3), 0.8
    H = hessian(quadratic)({"W": W, "b": b})
    assert H.shape == (4, 4)
    close(H, mp_hessian(lambda_free_flat, (np.array([*W, b]),)))
    J = jacobian(vector)({"W": W, "b": b})
    close(J, np.column_stack([X, np.ones(6)]))  # by hand: d(X W + b)/d(W, b)


def lambda_free_flat(v):
    return flat_quadratic(v[:3], v[3])


# ---- what stays refused, and says so ----
def test_refusals_are_located():
    with pytest.raises(ArgumentError, match="dict that holds something other than real numbers"):
        grad(quadratic)({"W": W2, "b": "x"})
    with pytest.raises(ArgumentError, match="dict key that is not a str or int"):
        grad(quadratic)({("W",): W2})
    with pytest.raises(SymdiffError, match="container argument"):
        grad(grad(quadratic))({"W": RNG.normal(size=3), "b": 0.8})
    with pytest.raises(ExportError, match="C export does not support a dict"):
        emit(quadratic, language="c", args=({"W": np.ones(3), "b": 0.5},))
    with pytest.raises(SymdiffError, match="no key"):
        grad(quadratic)({"W": np.ones(3), "c": 0.5})


def mutates(params):
    params[0] = params[0] * 2.0
    return np.sum(params[0])


def test_changing_a_container_argument_is_refused():
    with pytest.raises(SymdiffError, match="changing a list"):
        grad(mutates)([np.ones(3), 1.0])
