"""Lesson 08's exercise checks tried with answers their author did not write (see __init__.py)."""
from exercise_fixtures import Fixture

FIXTURES = [
    # 08.M1: gcn_layer(adjacency, h, weight) = ReLU(A_hat h W)
    Fixture("08.M1", "def _m1(adjacency, h, weight):\n"
                     "    a_tilde = adjacency + torch.eye(len(adjacency))\n"
                     "    d = torch.diag(a_tilde.sum(1) ** -0.5)\n"
                     "    return torch.relu(d @ a_tilde @ d @ h @ weight)\n"
                     "answer_m1 = _m1", why="degree matrices with torch.diag, ** -0.5"),
    Fixture("08.M1", "def _m1(adjacency, h, weight):\n"
                     "    a = adjacency.double().clone()\n"
                     "    a.fill_diagonal_(1)\n"
                     "    s = a.sum(0).pow(-0.5)\n"
                     "    return ((s[:, None] * a * s) @ (h.double() @ weight.double())).clamp(min=0)\n"
                     "answer_m1 = _m1", why="float64, fill_diagonal_ on a copy, column sums, clamp(min=0), other product order"),
    Fixture("08.M1", "def _m1(adjacency, h, weight):\n"
                     "    n = adjacency.shape[0]\n"
                     "    deg = (adjacency + torch.eye(n)).sum(1)\n"
                     "    a_hat = (adjacency + torch.eye(n)) / torch.sqrt(torch.outer(deg, deg))\n"
                     "    return F.relu(torch.einsum('ij,jk,kl->il', a_hat, h, weight))\n"
                     "answer_m1 = _m1", why="outer product of degrees, einsum, F.relu"),
    Fixture("08.M1", "def _m1(adjacency, h, weight):\n"
                     "    d = adjacency.sum(1).rsqrt()\n"
                     "    a_tilde = adjacency + torch.eye(len(adjacency))\n"
                     "    return torch.relu(d[:, None] * a_tilde * d[None, :] @ h @ weight)\n"
                     "answer_m1 = _m1", hint="자기 루프를 더하기 전의 A에서", why="degree counted before the self-loops"),
    Fixture("08.M1", "def _m1(adjacency, h, weight):\n"
                     "    a_tilde = adjacency + torch.eye(len(adjacency))\n"
                     "    d = a_tilde.sum(1).rsqrt()\n"
                     "    return d[:, None] * a_tilde * d[None, :] @ h @ weight\n"
                     "answer_m1 = _m1", hint="음수가 남아 있습니다", why="ReLU forgotten"),
    Fixture("08.M1", "def _m1(adjacency, h, weight):\n"
                     "    d = adjacency.sum(1).rsqrt()\n"
                     "    return torch.relu(d[:, None] * adjacency * d[None, :] @ h @ weight)\n"
                     "answer_m1 = _m1", hint="자기 루프가 빠졌습니다", why="the notes' two steps only: no self-loops"),
    Fixture("08.M1", "def _m1(adjacency, h, weight):\n"
                     "    a_tilde = adjacency + torch.eye(len(adjacency))\n"
                     "    return torch.relu(a_tilde / a_tilde.sum(1, keepdim=True) @ h @ weight)\n"
                     "answer_m1 = _m1", hint="행 정규화", why="row normalisation (mean of neighbours)"),
    Fixture("08.M1", "def _m1(adjacency, h, weight):\n"
                     "    a_tilde = adjacency + torch.eye(len(adjacency))\n"
                     "    return torch.relu(a_tilde.sum(1).rsqrt()[:, None] * a_tilde @ h @ weight)\n"
                     "answer_m1 = _m1", hint="한쪽에서만", why="D^-1/2 on one side only"),
    Fixture("08.M1", "def _m1(adjacency, h, weight):\n"
                     "    adjacency += torch.eye(len(adjacency))\n"
                     "    d = adjacency.sum(1).rsqrt()\n"
                     "    return torch.relu(d[:, None] * adjacency * d[None, :] @ h @ weight)\n"
                     "answer_m1 = _m1", hint="제자리", why="in-place += on the caller's adjacency (changes the lesson's A)"),
    Fixture("08.M1", "def _m1(adjacency, h, weight):\n"
                     "    a_tilde = adjacency + torch.eye(4)\n"
                     "    d = a_tilde.sum(1).rsqrt()\n"
                     "    return torch.relu(d[:, None] * a_tilde * d[None, :] @ h @ weight)\n"
                     "answer_m1 = _m1", hint="오류를 냈습니다", why="n hard-coded to the 4-node graph: the student's own error, reported as such"),
    Fixture("08.M1", "answer_m1 = gcn_layer(A, X, W)", hint="gcn_layer 자체를", why="the result of a call instead of the function"),

    # 08.1: gcn_propagate(edge_index, h) = A_hat h from the edge list, no N x N matrix
    Fixture("08.1", "def _p(edge_index, h):\n"
                    "    n = h.shape[0]\n"
                    "    loops = torch.arange(n)\n"
                    "    src, dst = torch.cat([edge_index[0], loops]), torch.cat([edge_index[1], loops])\n"
                    "    deg = torch.bincount(dst, minlength=n).float()\n"
                    "    msg = h[src] / torch.sqrt(deg[src] * deg[dst])[:, None]\n"
                    "    return torch.zeros_like(h).scatter_add_(0, dst[:, None].expand(-1, h.shape[1]), msg)\n"
                    "answer_1 = _p", why="bincount for the degree, scatter_add_ instead of index_add_"),
    Fixture("08.1", "def _p(edge_index, h):\n"
                    "    n = h.shape[0]\n"
                    "    ei = torch.cat([edge_index, torch.arange(n).repeat(2, 1)], dim=1)\n"
                    "    deg = torch.zeros(n, dtype=torch.float64).index_add_(0, ei[1], torch.ones(ei.shape[1], dtype=torch.float64))\n"
                    "    values = (deg[ei[0]] * deg[ei[1]]).rsqrt()\n"
                    "    a_hat = torch.sparse_coo_tensor(ei.flip(0), values, (n, n))\n"
                    "    return torch.sparse.mm(a_hat, h.double())\n"
                    "answer_1 = _p", why="a sparse matrix (not N x N in memory), float64"),
    Fixture("08.1", "def _p(edge_index, h):\n"
                    "    n = len(h)\n"
                    "    src = torch.cat([edge_index[0], torch.arange(n)])\n"
                    "    dst = torch.cat([edge_index[1], torch.arange(n)])\n"
                    "    inv = torch.zeros(n).index_add_(0, dst, torch.ones(len(dst))) ** -0.5\n"
                    "    out = torch.zeros(h.shape)\n"
                    "    out.index_add_(0, dst, inv[dst, None] * inv[src, None] * h[src])\n"
                    "    return out\n"
                    "answer_1 = _p", why="d^-1/2 per node first, ** -0.5, len()"),
    Fixture("08.1", "def _p(edge_index, h):\n"
                    "    n = h.shape[0]\n"
                    "    a = torch.zeros(n, n)\n"
                    "    a[edge_index[0], edge_index[1]] = 1\n"
                    "    return normalized_adjacency(a) @ h\n"
                    "answer_1 = _p", hint="N × N 행렬", why="the dense N x N matrix the task forbids (right on small graphs)"),
    Fixture("08.1", "def _p(edge_index, h):\n"
                    "    src, dst = edge_index\n"
                    "    deg = torch.zeros(h.shape[0]).index_add_(0, dst, torch.ones(dst.numel()))\n"
                    "    return torch.zeros_like(h).index_add_(0, dst, (deg[src] * deg[dst]).rsqrt()[:, None] * h[src])\n"
                    "answer_1 = _p", hint="자기 루프 엣지가 빠졌습니다", why="no self-loop edges"),
    Fixture("08.1", "def _p(edge_index, h):\n"
                    "    n = h.shape[0]\n"
                    "    deg = torch.zeros(n).index_add_(0, edge_index[1], torch.ones(edge_index.shape[1]))\n"
                    "    loops = torch.arange(n)\n"
                    "    src, dst = torch.cat([edge_index[0], loops]), torch.cat([edge_index[1], loops])\n"
                    "    return torch.zeros_like(h).index_add_(0, dst, (deg[src] * deg[dst]).rsqrt()[:, None] * h[src])\n"
                    "answer_1 = _p", hint="차수를 자기 루프 엣지를 덧붙이기 전에", why="degree counted before the self-loop edges"),
    Fixture("08.1", "def _p(edge_index, h):\n"
                    "    n = h.shape[0]\n"
                    "    loops = torch.arange(n)\n"
                    "    src, dst = torch.cat([edge_index[0], loops]), torch.cat([edge_index[1], loops])\n"
                    "    deg = torch.zeros(n).index_add_(0, dst, torch.ones(dst.numel()))\n"
                    "    return torch.zeros_like(h).index_add_(0, dst, h[src] / deg[dst, None])\n"
                    "answer_1 = _p", hint="받는 노드의 차수로만", why="mean over neighbours (receiver's degree only)"),
    Fixture("08.1", "def _p(edge_index, h):\n"
                    "    n = h.shape[0]\n"
                    "    loops = torch.arange(n)\n"
                    "    src, dst = torch.cat([edge_index[0], loops]), torch.cat([edge_index[1], loops])\n"
                    "    deg = torch.zeros(n).index_add_(0, dst, torch.ones(dst.numel()))\n"
                    "    return torch.zeros_like(h).index_add_(0, src, (deg[src] * deg[dst]).rsqrt()[:, None] * h[src])\n"
                    "answer_1 = _p", hint="보내는 노드 j 자리에", why="messages added at the sender"),
    Fixture("08.1", "def _p(edge_index, h):\n"
                    "    n = h.shape[0]\n"
                    "    loops = torch.arange(n)\n"
                    "    src, dst = torch.cat([edge_index[0], loops]), torch.cat([edge_index[1], loops])\n"
                    "    return torch.zeros_like(h).index_add_(0, dst, h[src])\n"
                    "answer_1 = _p", hint="정규화 계수", why="no normalisation"),
    Fixture("08.1", "def _p(edge_index, h):\n"
                    "    n = h.shape[0]\n"
                    "    loops = torch.arange(n)\n"
                    "    src, dst = torch.cat([edge_index[0], loops]), torch.cat([edge_index[1], loops])\n"
                    "    deg = torch.zeros(n).index_add_(0, dst, torch.ones(dst.numel()))\n"
                    "    msg = (deg[src] * deg[dst]).rsqrt()[:, None] * h[src]\n"
                    "    h.zero_()\n"
                    "    return h.index_add_(0, dst, msg)\n"
                    "answer_1 = _p", hint="제자리", why="writes the result into the caller's h"),

    # 08.2 (predict): node 16's receptive field in a 2-layer GCN is {0, 4, 5, 6, 10, 16}
    Fixture("08.2", "answer_2 = [16, 10, 6, 5, 4, 0]", why="a list, in another order"),
    Fixture("08.2", "answer_2 = torch.tensor([0, 4, 5, 6, 10, 16])", why="a tensor"),
    Fixture("08.2", "import numpy as np\nanswer_2 = np.array([0, 4, 5, 6, 10, 16, 16])", why="a NumPy array, one node twice"),
    Fixture("08.2", "answer_2 = {16} | set(club.graph[16]) | {k for j in club.graph[16] for k in club.graph[j]}",
            why="counted with networkx neighbour lists"),
    Fixture("08.2", "answer_2 = {5, 6, 16}", hint="한 층(1홉)만큼만", why="one hop: one layer"),
    Fixture("08.2", "answer_2 = {5, 6}", hint="한 층(1홉)만큼만", why="the neighbours only"),
    Fixture("08.2", "answer_2 = {0, 4, 10}", hint="정확히 2홉", why="only the nodes exactly two hops away"),
    Fixture("08.2", "answer_2 = {0, 4, 5, 6, 10}", hint="자신이 빠졌습니다", why="the node itself left out (no self-loop)"),
    Fixture("08.2", "answer_2 = {0, 1, 4, 5, 6, 10, 16}", hint="닿지 않는 노드", why="a 3-hop node (three layers)"),
    Fixture("08.2", "answer_2 = {0, 5, 6, 10, 16}", hint="빠진 노드가 있습니다", why="miscounted in the figure"),
    Fixture("08.2", "answer_2 = {0, 4, 5, 6, 10, 16, 34}", hint="0~33", why="a node number that does not exist"),
    Fixture("08.2", "answer_2 = set()", hint="비어 있습니다", why="an empty set"),

    # 08.3 (explain): (A + I) X on the 4-neighbour grid = the plus-shaped kernel; border: zero padding = no edge
    Fixture("08.3", "answer_3 = ([[0, 1, 0], [1, 1, 1], [0, 1, 0]], '(B)')", why="nested lists, '(B)'"),
    Fixture("08.3", "import numpy as np\n_k = np.zeros((3, 3))\n_k[1, :] = 1\n_k[:, 1] = 1\nanswer_3 = [_k, ' b ']",
            why="a NumPy array built row and column, a list pair"),
    Fixture("08.3", "answer_3 = (torch.tensor([[0, 1, 0], [1, 1, 1], [0, 1, 0]], dtype=torch.float64), 'B')",
            why="a float64 tensor, upper case"),
    Fixture("08.3", "answer_3 = (torch.tensor([[0., 1, 0], [1, 0, 1], [0, 1, 0]]), 'b')", hint="가운데 값이 0",
            why="A X without the self-loop"),
    Fixture("08.3", "answer_3 = (torch.ones(3, 3), 'b')", hint="대각선", why="the 8-neighbour window"),
    Fixture("08.3", "answer_3 = (torch.tensor([[0., 1, 0], [1, 1, 1], [0, 1, 0]]) / 5, 'b')", hint="정규화도 없습니다",
            why="normalised by the degree 5"),
    Fixture("08.3", "answer_3 = (torch.tensor([[0., 1, 0], [1, 1, 1], [0, 1, 0]]), 'a')", hint="정규화가 없습니다",
            why="explained by normalisation"),
    Fixture("08.3", "answer_3 = (torch.tensor([[0., 1, 0], [1, 1, 1], [0, 1, 0]]), 'c')", hint="가장자리 픽셀도 계산됩니다",
            why="believes conv2d skips the border"),
    Fixture("08.3", "answer_3 = torch.tensor([[0., 1, 0], [1, 1, 1], [0, 1, 0]])", hint="(커널, 기호) 쌍",
            why="the kernel alone, no explanation"),
]
