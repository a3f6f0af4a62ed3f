"""One step of generation, for the KV cache: a decoder predicts the next token after the sentence
(every layer, the final norm and the LM head, softmax over the whole vocabulary), and that token, fed
back in, attends to the sentence through the shown head.

While generating, the keys and values of the tokens already read are kept (the KV cache): they do not
change when a token is added, since under causal attention no earlier token sees a later one. So the
new token needs only its own q, k and v: one new row of the score grid, q_new against the cached K
and its own k, and the cache grows by one row (its k and v).

`next_step(model, result)` runs the model on the sentence plus its top prediction up to the shown
layer and keeps that last row; `with_next(computed, head)` returns the result with it (`.next`).
The prediction costs a full forward pass and the LM head (for Qwen2.5-0.5B, 151,936 rows x 896,
read a chunk at a time): the video computes it only when the kv-cache stage is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .attention import AttentionResult, softmax
from .errors import InputError
from .multihead import MultiHeadResult

TOP = 3  # the predictions kept, best first


@dataclass(frozen=True)
class NextStep:
    """The decoder's next token after the sentence and, in the shown head, its row of attention:
    scores, scaled and weights have S + 1 entries, the S cached keys (the sentence's tokens, in order)
    and the new token's own key last."""

    tokens: tuple[str, ...]  # (TOP,)  the most likely next tokens, as shown (byte-level pieces decoded), best first
    ids: np.ndarray  # (TOP,)  their ids
    probabilities: np.ndarray  # (TOP,)  softmax of the logits over the whole vocabulary
    vocabulary: int  # how many tokens the softmax ran over (the LM head's rows)
    position: int  # the new token's position: S (the sentence's are 0 .. S - 1)
    q: np.ndarray  # (d_k,)  its query in the shown head (rotated by its position under RoPE)
    k: np.ndarray  # (d_k,)  its key: the row the K cache gains
    v: np.ndarray  # (d_v,)  its value: the row the V cache gains
    scores: np.ndarray  # (S + 1,)  q . k_j for the cached keys, then q . k
    scaled: np.ndarray  # (S + 1,)  scores / sqrt(d_k)
    weights: np.ndarray  # (S + 1,)  softmax of scaled
    output: np.ndarray  # (d_v,)  weights . [V; v]

    @property
    def token(self) -> str:
        """The most likely next token, the one fed back in."""
        return self.tokens[0]

    @property
    def probability(self) -> float:
        return float(self.probabilities[0])

    @property
    def cache_rows(self) -> int:
        """Rows of the K and V caches once the new token's k and v join them: S + 1."""
        return self.position + 1

    @property
    def strongest(self) -> int:
        """The key the new token attends to most (S: itself), the first on a tie."""
        return int(np.argmax(self.weights))


def can_generate(result: AttentionResult) -> bool:
    """True for a decoder's head whose model predicts next tokens (llama, Qwen2, GPT-2): a model's
    causal result whose architecture has an LM head."""
    if result.model is None or not result.causal or result.architecture is None:
        return False
    from .architectures import ARCHITECTURES
    from .architectures.base import Architecture

    kind = ARCHITECTURES.get(result.architecture)
    return kind is not None and type(kind).logits is not Architecture.logits


def next_step(model, result: AttentionResult, top: int = TOP) -> NextStep:
    """The next token `model` predicts after `result`'s sentence, and its row of attention in the head
    `result` shows (its layer and head): the model run on the sentence and that token up to the layer,
    the head's q, k and v of the new last token."""
    from .model import encode, forward, shown_byte_piece

    if result.sentence is None or result.layer is None or result.head is None:
        raise InputError("kv-cache: needs a model's head computed from a sentence")
    _, ids = encode(model, result.sentence)
    if len(ids) != result.n_tokens:
        raise InputError("kv-cache: the sentence's tokens differ from the result's")
    if len(ids) + 1 > model.max_tokens:
        raise InputError(f"sentence: {len(ids)} tokens; {model.name} takes at most {model.max_tokens}, and generating "
                         "adds one")
    xs, _ = forward(model, ids)
    logits = model.kind.logits(model, xs[-1][-1:])[0]  # (vocab,)  the last token's vector: what comes next
    probabilities = softmax(logits[None])[0]
    best = np.argsort(-logits, kind="stable")[:top]
    pieces = [model.tokenizer.id_to_token(int(i)) or "" for i in best]
    shown = tuple(shown_byte_piece(p) if model.byte_level else p for p in pieces)
    S = len(ids)
    grown = grown_head(model, result, ids, int(best[0]))
    return NextStep(tokens=shown, ids=best.copy(), probabilities=probabilities[best], vocabulary=int(logits.size),
                    position=S, q=grown.Q[S], k=grown.K[S], v=grown.V[S], scores=grown.scores[S], scaled=grown.scaled[S],
                    weights=grown.weights[S], output=grown.output[S])


def grown_head(model, result: AttentionResult, ids: np.ndarray, token: int) -> AttentionResult:
    """`result`'s head (its layer and head) on the sentence's `ids` with the token `token` fed back in:
    S + 1 rows, the last the new token's, against the cached keys and its own (the KV cache grown by one)."""
    from .attention import self_attention
    from .model import attention_input, forward, head_weights, positions_of

    longer = np.append(ids, token)
    xs, _ = forward(model, longer, upto=result.layer)
    X = attention_input(model, result.layer, xs[result.layer])  # (S + 1, d_model)
    return self_attention(X, mask=model.kind.mask(model, len(longer)), **head_weights(model, result.layer, result.head),
                          **positions_of(model, len(longer)))


def with_next(computed: AttentionResult | MultiHeadResult, head: int = 0) -> AttentionResult | MultiHeadResult:
    """`computed` with `.next` set on its followed head (`head` of a MultiHeadResult): the model its
    results name, found again in this process (attncore.model.loaded), predicts the next token."""
    from .model import loaded

    result = computed.heads[head] if isinstance(computed, MultiHeadResult) else computed
    if not can_generate(result):
        raise InputError("stage: 'kv-cache' generates a next token, which needs a decoder model that predicts one "
                         "(--model smollm2-135m, qwen2.5-coder-0.5b or a GPT-2 folder)")
    model = loaded(result)
    if model is None:
        raise InputError(f"kv-cache: cannot find the model {result.model!r} again to predict the next token")
    grown = replace(result, next=next_step(model, result))
    if isinstance(computed, MultiHeadResult):
        return replace(computed, heads=tuple(grown if h == head else r for h, r in enumerate(computed.heads)))
    return grown
