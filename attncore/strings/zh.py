"""简体中文 table headings. The terms are the seeds' own (shared/seeds/000, 001), as in
scenes/strings/zh.py. Same keys and placeholders as en.py."""

STRINGS = {
    "tokens": "词元",
    "embeddings": "嵌入向量（{s} x {d}）",
    "positional": "位置编码（{s} x {d}）",
    "X": "输入矩阵 X（{s} x {d}，词元数 x d_model）",
    "W": "投影矩阵 {name}（{r} x {c}）",
    "bias": "偏置 {name}（{c}）",
    "Q": "查询 Q = X W_Q（{s} x {d}）",
    "K": "键 K = X W_K（{s} x {d}）",
    "V": "值 V = X W_V（{s} x {d}）",
    "scores": "注意力分数 = Q K^T（{s} x {s}，行：查询，列：键）",
    "scaled": "缩放 = 注意力分数 / sqrt({dk}) = 注意力分数 / {scale}",
    "weights": "注意力权重 = 每行 softmax(缩放后的分数)",
    "causal": "（因果：后面的词元被遮蔽）",
    "sum": "总和",
    "output": "输出 Z = 注意力权重 V（{s} x {d}）",
    "head": "{h} 号头（共 {n} 个头）：注意力权重（d_head = {d}）",
    "W_O": "输出投影矩阵 W_O（{r} x {c}）",
    "concat": "拼接 = [Z_0 | ... | Z_{last}]（{s} x {d}）",
    "multi": "输出 = 拼接 W_O（{s} x {d}）",
    "multi_bias": "输出 = 拼接 W_O + b_O（{s} x {d}）",
}
