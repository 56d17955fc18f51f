"""ad: the chain rule.

Takes: an SSA program. Returns: its adjoint statements (``reverse``: reverse mode, one statement's
local partials at a time) and vector-Jacobian products for ``jacobian``/``hessian`` (``vjp``).
"""
