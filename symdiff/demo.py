"""The seed example that ``symdiff demo`` differentiates: y = x², z = sin(y), u = exp(z)."""

import math


def u(x):
    y = x ** 2
    z = math.sin(y)
    return math.exp(z)
