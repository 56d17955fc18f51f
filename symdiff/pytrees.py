"""pytrees: containers of numbers and arrays as arguments (what JAX calls pytrees).

Takes: an argument value — a list, tuple, dict, ``NamedTuple`` or dataclass instance, nested in
any mix, whose leaves are numbers and numpy arrays (``params = [W1, b1, W2, b2]``,
``{"W": W, "b": b}``, ``Params(W=..., b=...)``). Returns: its structure (``Node``, hashable: the
key of a specialisation), the leaves in order with their paths, and the text that reads a leaf
in generated code (``params[0]['W']``) and that builds a gradient of the same structure
(``{'W': W_bar, 'b': b_bar}``, ``type(params)(W=..., b=...)``).

>>> node, leaves = flatten({"W": [1.0, 2.0], "b": 0.5}, leaf=lambda v: "number")
>>> [path_text("p", path) for path, _ in leaves_with_paths(node)]
["p['W'][0]", "p['W'][1]", "p['b']"]
>>> pack_text(node, "p", ["a", "b", "c"])
"{'W': [a, b], 'b': c}"
"""

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class Node:
    """One container: its ``kind`` (list, tuple, dict, namedtuple, dataclass), its class (for
    namedtuple and dataclass), its ``keys`` (indices, dict keys or field names) and
    ``children`` (``Node`` or a leaf's kind), in order."""

    kind: str
    cls: type
    keys: tuple
    children: tuple

    def describe(self):
        n = len(leaves_with_paths(self))
        what = self.cls.__name__ if self.cls is not None else self.kind
        return f"a {what} of {n} number{'s' if n != 1 else ''} and arrays"


def is_container(value):
    """Whether ``value`` is a container ``flatten`` reads (a dataclass instance, not the class)."""
    return isinstance(value, (list, tuple, dict)) or (
        dataclasses.is_dataclass(value) and not isinstance(value, type))


def flatten(value, leaf):
    """``(Node, [(path, leaf kind), ...])`` of a container, or None when a part is neither a
    container nor a leaf (``leaf(v)`` returns None) or a dict key is not a str or int.
    ``leaf(v)`` gives the kind of a leaf value."""
    node = _node(value, leaf)
    return None if node is None else (node, leaves_with_paths(node))


def _node(value, leaf):
    if isinstance(value, tuple) and hasattr(type(value), "_fields"):
        kind, cls, keys, items = "namedtuple", type(value), tuple(type(value)._fields), tuple(value)
    elif isinstance(value, (list, tuple)):
        kind, cls, keys, items = type(value).__name__, None, tuple(range(len(value))), tuple(value)
        if type(value) not in (list, tuple):
            return None  # a subclass of list: its constructor may mean something else
    elif isinstance(value, dict):
        if type(value) is not dict or not all(type(k) in (str, int) for k in value):
            return None
        kind, cls, keys, items = "dict", None, tuple(value), tuple(value.values())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        if not all(f.init for f in fields):
            return None  # a field the constructor does not take: the gradient cannot be built
        kind, cls = "dataclass", type(value)
        keys = tuple(f.name for f in fields)
        items = tuple(getattr(value, f.name) for f in fields)
    else:
        return None
    children = []
    for item in items:
        child = _node(item, leaf) if is_container(item) else leaf(item)
        if child is None:
            return None
        children.append(child)
    return Node(kind, cls, keys, tuple(children))


def leaves_with_paths(node, prefix=()):
    """``[(path, leaf kind), ...]`` in order; a path is a tuple of ``(container kind, key)``."""
    out = []
    for key, child in zip(node.keys, node.children):
        path = prefix + ((node.kind, key),)
        if isinstance(child, Node):
            out.extend(leaves_with_paths(child, path))
        else:
            out.append((path, child))
    return out


def leaf_values(value, node):
    """The leaves of ``value`` (of structure ``node``), in order."""
    out = []
    for key, child in zip(node.keys, node.children):
        item = _child(value, node.kind, key)
        if isinstance(child, Node):
            out.extend(leaf_values(item, child))
        else:
            out.append(item)
    return out


def _child(value, kind, key):
    if kind in ("namedtuple", "dataclass"):
        return getattr(value, key)
    return value[key]


def unflatten(node, leaves):
    """A container of structure ``node`` holding ``leaves`` (an iterator or list) in order."""
    leaves = iter(leaves)
    return _build(node, leaves)


def _build(node, leaves):
    items = [_build(child, leaves) if isinstance(child, Node) else next(leaves) for child in node.children]
    if node.kind == "list":
        return items
    if node.kind == "tuple":
        return tuple(items)
    if node.kind == "dict":
        return dict(zip(node.keys, items))
    if node.kind == "namedtuple":
        return node.cls(*items)
    made = object.__new__(node.cls)  # a stand-in for tracing: no __init__ / __post_init__ run
    for key, item in zip(node.keys, items):
        object.__setattr__(made, key, item)
    return made


def path_text(root, path):
    """The Python expression that reads the leaf at ``path`` of the argument named ``root``."""
    text = root
    for kind, key in path:
        text += f".{key}" if kind in ("namedtuple", "dataclass") else f"[{key!r}]"
    return text


def pack_text(node, root, leaf_texts, prefix=()):
    """The Python expression of a container of structure ``node`` holding ``leaf_texts`` (the
    gradient of the argument named ``root``: a namedtuple or dataclass is rebuilt with its own
    class, ``type(root)(field=...)``)."""
    texts = iter(leaf_texts)
    return _pack(node, root, texts, prefix)


def _pack(node, root, texts, prefix):
    parts = []
    for key, child in zip(node.keys, node.children):
        path = prefix + ((node.kind, key),)
        parts.append(_pack(child, root, texts, path) if isinstance(child, Node) else next(texts))
    if node.kind == "list":
        return f"[{', '.join(parts)}]"
    if node.kind == "tuple":
        return f"({parts[0]},)" if len(parts) == 1 else f"({', '.join(parts)})"
    if node.kind == "dict":
        return "{" + ", ".join(f"{k!r}: {p}" for k, p in zip(node.keys, parts)) + "}"
    fields = ", ".join(f"{k}={p}" for k, p in zip(node.keys, parts))
    return f"type({path_text(root, prefix)})({fields})"


def leaf_suffix(path):
    """A name part for the leaf at ``path``: ``W`` for ``params['W']``, ``0_b`` for ``p[0].b``."""
    parts = []
    for _, key in path:
        text = str(key)
        parts.append(text if text.isidentifier() or text.isdigit() else "item")
    return "_".join(parts)


__all__ = ["Node", "flatten", "is_container", "leaf_suffix", "leaf_values", "leaves_with_paths",
           "pack_text", "path_text", "unflatten"]
