"""Beam search for one sentence, written out hypothesis by hypothesis in
plain Python over PyTorch tensors: the reference for Heed's `beam (...)`
loops (docs/language.md, "Beam search"). Independent of Heed.

The search, as documented:
- K hypotheses; at first one (score 0) and K-1 placeholders (score -inf).
- Each step, a running hypothesis proposes every token v with score
  score + log p(v); a finished one proposes only itself (token 0, score
  unchanged). Each proposal is ranked by its key, score / length^alpha,
  where length counts the step for a running hypothesis.
- The K proposals with the largest keys become the hypotheses, in key order;
  of equal keys the one listed first wins (hypotheses in order, each with
  its tokens in order).
- A hypothesis whose new token is `end` is finished (the token counts in
  its length). The search stops when every hypothesis is finished or after
  max_len steps; the result is the first hypothesis (the largest key).
"""
import math

import torch


class Hypothesis:
    def __init__(self, score, state, token):
        self.score = score          # float32 tensor, sum of log-probabilities
        self.state = state          # whatever `step` carries
        self.token = token          # the last token (fed to the next step)
        self.tokens = []            # emitted tokens, <end> included
        self.extras = []            # per-step values `step` returns
        self.finished = False


def key(score, length, alpha):
    """score / length^alpha in float32, as Heed computes it."""
    if alpha == 0:
        return score
    return score / torch.tensor(float(length)) ** torch.tensor(alpha)


def beam_search(step, state, start, end, width, alpha, max_len):
    """`step(token, state) -> (logprobs [V], new_state, extra)`.

    Returns the best hypothesis and the smallest gap between consecutive
    keys among the K+1 best proposals of any step (how far the choices are
    from a tie)."""
    hyps = [Hypothesis(torch.tensor(0.0), state, start)]
    hyps += [Hypothesis(torch.tensor(-math.inf), state, start)
             for _ in range(width - 1)]
    margin = math.inf
    for _ in range(max_len):
        proposals = []   # (key, order, hypothesis, token, score, state, extra)
        for k, h in enumerate(hyps):
            if h.finished:
                k_ = key(h.score, len(h.tokens), alpha)
                proposals.append((float(k_), len(proposals), h, None, h.score,
                                  None, None))
                continue
            logprobs, new_state, extra = step(h.token, h.state)
            scores = h.score + logprobs
            keys = key(scores, len(h.tokens) + 1, alpha)
            for v in range(len(logprobs)):
                proposals.append((float(keys[v]), len(proposals), h, v,
                                  scores[v], new_state, extra))
        proposals.sort(key=lambda p: (-p[0], p[1]))
        best = proposals[:width + 1]
        for a, b in zip(best, best[1:]):
            if math.isfinite(a[0]) and math.isfinite(b[0]):
                margin = min(margin, a[0] - b[0])
        new_hyps = []
        for _, _, h, v, score, new_state, extra in proposals[:width]:
            if v is None:            # a finished hypothesis, kept
                new_hyps.append(h)
                continue
            n = Hypothesis(score, new_state, v)
            n.tokens = h.tokens + [v]
            n.extras = h.extras + [extra]
            n.finished = v == end
            new_hyps.append(n)
        hyps = new_hyps
        if all(h.finished for h in hyps):
            break
    best = hyps[0]
    best.key = float(key(best.score, len(best.tokens), alpha))
    return best, margin
