#!/usr/bin/python3
"""PyTorch 1.13 eager baselines for bench/run.sh: one thread, no autograd,
the same models as the reference implementations in tools/reference/.

    OMP_NUM_THREADS=1 /usr/bin/python3 bench/pytorch_eager.py MODEL BATCH

prints the median latency in microseconds."""
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools", "reference"))
from attention_step import AttentionStep, TX, N_A, N_S  # noqa: E402
from dense_attention import DenseAttention, TIME_STEP  # noqa: E402
from date_translation import DateTranslator, N_S  # noqa: E402
import dates  # noqa: E402
from trigger_word import make_model as make_trigger_word, TX as TW_TX, N_FREQ  # noqa: E402
from lstm_attention import LstmAttention, TIME_STEP as LA_T, DIM as LA_DIM  # noqa: E402
from attention_decoder import AttentionDecoderModel, T as AD_T, F as AD_F  # noqa: E402
import tacotron2_attention as tacotron  # noqa: E402
import nmt  # noqa: E402


def median_us(fn, seconds=1.0):
    for _ in range(20):
        fn()
    times = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(times) < 20:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2] * 1e6


def main(model, batch):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    if model == "attention_step":
        net = AttentionStep().eval()
        a, s = torch.randn(batch, TX, 2 * N_A), torch.randn(batch, N_S)
        run = lambda: net(a, s)  # noqa: E731
    elif model == "dense_attention":
        net = DenseAttention().eval()
        x = torch.rand(batch, TIME_STEP)
        run = lambda: net(x)  # noqa: E731
    elif model == "date_translation":
        net = DateTranslator().eval()
        x = torch.zeros(batch, dates.TX, len(dates.HUMAN_VOCAB))
        x[:, :, 0] = 1
        s0 = torch.zeros(batch, N_S)
        run = lambda: net(x, s0, s0)  # noqa: E731
    elif model == "trigger_word":
        net = make_trigger_word()
        x = torch.rand(batch, TW_TX, N_FREQ)
        run = lambda: net(x)  # noqa: E731
    elif model == "lstm_attention":
        net = LstmAttention().eval()
        x = torch.rand(batch, LA_T, LA_DIM)
        run = lambda: net(x)  # noqa: E731
    elif model == "attention_decoder":
        net = AttentionDecoderModel().eval()
        x = torch.randn(batch, AD_T, AD_F)
        run = lambda: net(x)  # noqa: E731
    elif model == "tacotron2_attention":  # 200 memory steps, 200 queries
        net = tacotron.LocationSensitiveAttention().eval()
        memory, lengths, queries = tacotron.make_inputs(batch, 200, 200)
        run = lambda: tacotron.run(net, memory, lengths.long(), queries,  # noqa: E731
                                   False, True, None)
    elif model == "nmt":  # the seed's sizes, greedy decoding of 20 steps
        if batch != 1:
            raise SystemExit("nmt: the seed's translate() decodes one sentence")
        net = nmt.make_model(nmt.SEED)
        source = nmt.seed_size_source(net)
        run = lambda: net.translate(source)  # noqa: E731
    elif model == "scaled_dot_attention":  # batch = heads, 1024 x 1024 x 64
        q, k, v = (torch.randn(batch, 1024, 64) for _ in range(3))
        run = lambda: torch.softmax(  # noqa: E731
            q @ k.transpose(1, 2) / 8.0, -1) @ v
    else:
        raise SystemExit(f"unknown model {model}")
    with torch.no_grad():
        print(f"{median_us(run):.2f}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
