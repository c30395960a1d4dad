"""The street network as arrays for the flow simulation, and points snapped to its nodes.

A :class:`FlowGraph` holds both directions of every segment as arcs in compressed sparse
row order (arcs leaving node ``i`` are ``indptr[i]:indptr[i+1]``), so a walk may use a
segment either way, and a ``scipy.sparse`` matrix of plain lengths for the shortest-path
search (the shortest of parallel segments; Dijkstra needs one value per node pair).
Units: metres, in the network's projected CRS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.spatial import cKDTree

from pipeline.walkability.network import StreetNetwork


@dataclass(frozen=True)
class FlowGraph:
    """Arcs of a street network in CSR order.

    Attributes
    ----------
    n_nodes, n_segments : int
    indptr : numpy.ndarray (n_nodes + 1,) int64
    head : numpy.ndarray (n_arcs,) int64
        The node each arc leads to.
    segment : numpy.ndarray (n_arcs,) int64
        The segment (row of ``network.segments``) each arc runs along.
    length_m : numpy.ndarray (n_segments,) float64
    lengths : scipy.sparse.csr_matrix
        Node x node, the shortest plain length between adjacent nodes (metres).
    node_xy : numpy.ndarray (n_nodes, 2) float64
        Node coordinates (metres).
    """

    n_nodes: int
    n_segments: int
    indptr: np.ndarray
    head: np.ndarray
    segment: np.ndarray
    length_m: np.ndarray
    lengths: csr_matrix
    node_xy: np.ndarray

    @classmethod
    def from_network(cls, network: StreetNetwork) -> FlowGraph:
        """Arrays of a :class:`~pipeline.walkability.network.StreetNetwork` (self-loops dropped)."""
        index = pd.Index(network.nodes.index)
        a = index.get_indexer(network.segments["u"])
        b = index.get_indexer(network.segments["v"])
        if (a < 0).any() or (b < 0).any():
            raise ValueError("segments refer to nodes missing from network.nodes")
        length = np.maximum(network.segments["length_m"].to_numpy(np.float64), 1e-6)
        return cls.from_arrays(a, b, length, network.nodes[["x", "y"]].to_numpy(np.float64))

    @classmethod
    def from_arrays(
        cls, a: np.ndarray, b: np.ndarray, length_m: np.ndarray, node_xy: np.ndarray
    ) -> FlowGraph:
        """From segment end nodes ``a``, ``b`` (0-based), lengths (m) and node coordinates."""
        a = np.asarray(a, np.int64)
        b = np.asarray(b, np.int64)
        length_m = np.asarray(length_m, np.float64)
        n = len(node_xy)
        keep = np.flatnonzero(a != b)
        tail = np.concatenate([a[keep], b[keep]])
        head = np.concatenate([b[keep], a[keep]])
        seg = np.concatenate([keep, keep])
        order = np.lexsort((seg, head, tail))
        tail, head, seg = tail[order], head[order], seg[order]
        indptr = np.zeros(n + 1, np.int64)
        np.cumsum(np.bincount(tail, minlength=n), out=indptr[1:])
        # shortest of parallel arcs for Dijkstra
        arc_len = length_m[seg]
        by_len = np.lexsort((arc_len, head, tail))
        first = np.ones(len(by_len), bool)
        first[1:] = (tail[by_len][1:] != tail[by_len][:-1]) | (head[by_len][1:] != head[by_len][:-1])
        pick = by_len[first]
        lengths = csr_matrix((arc_len[pick], (tail[pick], head[pick])), shape=(n, n))
        lengths.sort_indices()
        return cls(n, len(length_m), indptr, head, seg, length_m, lengths, np.asarray(node_xy, np.float64))


def snap_to_nodes(graph: FlowGraph, xy: np.ndarray, *, max_distance_m: float) -> np.ndarray:
    """Nearest node of each point (metres, the graph's CRS); -1 farther than ``max_distance_m``."""
    xy = np.asarray(xy, np.float64).reshape(-1, 2)
    if not len(xy):
        return np.zeros(0, np.int64)
    distance, node = cKDTree(graph.node_xy).query(xy, k=1)
    return np.where(distance <= max_distance_m, node, -1).astype(np.int64)
