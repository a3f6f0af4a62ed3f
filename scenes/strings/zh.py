"""简体中文. The terms are the seeds' own (shared/seeds/000, 001): 词元, 嵌入向量, 查询 / 键 / 值,
投影矩阵, 注意力分数, 缩放, 注意力权重, 加权求和, 当前词元. Same keys and placeholders as en.py."""


CHARS_PER_SECOND = 9  # Chinese subtitles are read at fewer, denser characters per second


def plural(n: int) -> str:
    return "other"  # Chinese nouns do not change with the number


STRINGS = {
    # title
    "title": "自注意力机制，一步一步",
    "title.sentence": "“{sentence}”",
    "title.tokens": {"other": "{n} 个词元"},
    "say.title": "自注意力机制，一步一步：句子中的每个词元如何从其他词元那里汇集信息。",
    "say.title.sentence": "我们的句子是：“{sentence}”",
    "say.title.tokens": {"other": "它被切分为 {n} 个词元。我们跟随当前词元“{token}”走完每一步。"},
    "say.title.rows": "每个词元成为计算中的一行。",
    # embeddings
    "embeddings.heading": "1. 嵌入向量 → X",
    "embeddings.caption": "每个词元查出自己的嵌入向量（{d} 个数）",
    "embeddings.positional": "+ 位置编码（位置的 sin/cos）",
    "embeddings.stack": "按行堆叠，这些向量组成矩阵 X",
    "embeddings.shape": "X：{s} × {d}（词元数 × d_model）",
    "say.embeddings.lookup": "每个词元查出自己的嵌入向量，每个向量有 {d} 个数；“{token}”是 {vector}。",
    "say.embeddings.stack": "把这些向量按行堆叠，就得到输入矩阵 X：{s} × {d}，即词元数乘以 d_model。",
    "say.embeddings.positional": "再加上位置编码，每一行也记住了词元的位置；“{token}”变为 {vector}。",
    # projection
    "projection.heading": "2. 投影矩阵：Q = X·W_Q，K = X·W_K，V = X·W_V",
    "projection.weight": "W_{w}（{r} × {c}）",
    "projection.shape": "{name}：{s} × {d}",
    "projection.entry": "X 的一行 · W_{w} 的一列：",
    "projection.query": "查询：这个词元在寻找什么",
    "projection.key": "键：它能提供什么信息标识",
    "projection.value": "值：它实际携带的信息内容",
    "say.projection.intro": "三个可学习的投影矩阵把 X 变成查询、键和值。先算 Q = X · W_Q。",
    "say.projection.entry": "其中一个元素：X 中“{token}”这一行乘以 W_{w} 的第 {col} 列，逐项相乘再相加，得到 {value}。",
    "say.projection.query": "每个元素都是这样一行乘一列。Q 为每个词元给出一个查询，形状 {s} × {d}：它在寻找什么。",
    "say.projection.key": "用 W_K 同样得到键 K，形状 {s} × {d}：每个词元能提供什么信息标识。",
    "say.projection.value": "用 W_V 得到值 V，形状 {s} × {d}：被关注时每个词元传递的信息内容。",
    # scores
    "scores.heading": "3. 点积：注意力分数 = Q·Kᵀ",
    "scores.focus": "“{token}”对每个词元应该关注多少？",
    "scores.q": "q“{token}”",
    "scores.k": "k“{token}”",
    "scores.terms": "q × k 逐项",
    "scores.running": "累加和",
    "scores.result": "q · k =",
    "scores.row": "“{token}”用它的查询去匹配每一个键",
    "scores.grid": "行：查询   列：键",
    "say.scores.intro": "“{token}”应该对每个词元关注多少？用它的查询和每一个键做点积。",
    "say.scores.dot": "“{token}”的查询乘以“{key}”的键：逐项相乘，并保持累加和。注意力分数是 {value}。",
    "say.scores.row": "和每一个键相乘，就得到“{token}”这一行注意力分数；最大的是与“{top}”的 {value}。",
    "say.scores.grid": "每个词元都这样做：得到 {s} × {s} 的注意力分数矩阵 Q·Kᵀ，行是查询，列是键。",
    # softmax
    "softmax.heading": "4. 缩放与 softmax",
    "softmax.scale": "÷ √d_k = √{dk} = {scale}",
    "softmax.masked": "因果注意力：后面的词元被遮蔽（−∞ → 0%）",
    "softmax.x": "x",
    "softmax.exp": "e^x",
    "softmax.exp_shifted": "e^(x − {shift})",
    "softmax.sum": "总和",
    "softmax.sum_is": "总和 =",
    "softmax.divide": "每个 e^x ÷ 总和 = 它的占比",
    "softmax.top": "“{token}” → “{top}”：{pct}，这一行中最大",
    "softmax.top_self": "“{token}” → 自己：{pct}，这一行中最大",
    "softmax.caption": "每一行做 softmax：每行之和为 100%",
    "say.softmax.scale": "先把注意力分数除以 √d_k = √{dk} = {scale}（缩放），让 softmax 不至于过早饱和。",
    "say.softmax.masked": "这是因果注意力：词元不能看后面的词元，它们的分数变为负无穷。",
    "say.softmax.row": "对“{token}”：对每个缩放后的分数取 e 的幂，它们的总和是 {total}，每个占比就是 e^x 除以总和。",
    "say.softmax.row_shifted": "对“{token}”：每个缩放后的分数先减去最大值 {shift}（占比不变）再取 e 的幂，总和是 {total}，每个占比就是 e^x 除以总和。",
    "say.softmax.top": "“{token}”把 {pct} 的注意力给了“{top}”，比给任何其他词元都多。",
    "say.softmax.top_self": "“{token}”把 {pct} 的注意力给了自己，比给任何其他词元都多。",
    "say.softmax.all": "softmax 把每一行变成加起来等于 100% 的百分比：这就是注意力权重 A。",
    # weighted sum
    "weighted.heading": "5. 对值向量加权求和",
    "weighted.caption": "“{token}”：z = Σ aⱼ · vⱼ",
    "weighted.z": "z“{token}” = Σ",
    "weighted.all": "Z = A·V：{s} × {d}",
    "weighted.message": "每个词元的新向量都融合了来自其他词元的上下文信息",
    "say.weighted.intro": "现在“{token}”来汇集信息：每个词元的值向量，按“{token}”给它的注意力权重加权。",
    "say.weighted.scale": "每个值向量乘以它的权重；“{top}”占 {pct}，贡献最大。",
    "say.weighted.sum": "把它们加起来，就得到“{token}”的新向量：z = {vector}。",
    "say.weighted.all": "所有词元同时这样做：Z = A·V，形状 {s} × {d}。每个新向量都融合了整个句子的上下文信息。",
    # summary
    "summary.heading": "总结：完整的计算路径",
    "summary.x": "X  嵌入向量",
    "summary.q": "Q = X·W_Q  查询",
    "summary.k": "K = X·W_K  键",
    "summary.v": "V = X·W_V  值",
    "summary.scores": "Q·Kᵀ / √d_k  注意力分数",
    "summary.weights": "A = softmax  注意力权重",
    "summary.output": "Z = A·V  输出",
    "summary.shape": "{r} × {c}",
    "summary.vec": "{v}“{token}”",
    "summary.row": "“{token}”这一行",
    "summary.formula": "Attention(Q, K, V) = softmax(Q·Kᵀ / √d_k) · V",
    "say.summary.path": "完整的路径：{s} 个词元 → X → 查询、键、值 → 注意力分数 → 注意力权重 → 输出 Z，每一步都列出“{token}”的数值。",
    "say.summary.formula": "一句话概括：Attention(Q, K, V) = softmax(Q·Kᵀ / √d_k) · V。“{token}”最终变为 {vector}。",
    # shared
    "elided": "显示 {total} 个{what}中的 {shown} 个；“…”表示其余",
    "what.tokens": "词元",
    "what.dims": "维度",
    # the lecture script (render.py --script)
    "script.title": "自注意力机制，一步一步：“{sentence}”",
    "script.intro": "视频的旁白，逐个节拍列出，并标出每个节拍开始的时间。⏸ 表示适合暂停讲解的地方。",
}
