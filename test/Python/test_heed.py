"""The `heed` Python package (compiler/Bindings/Python) against the PyTorch
goldens of tools/reference/ and against PyTorch itself, in one process.

Run by `ninja -C build check-heed` as
    PYTHONPATH=build/python /usr/bin/python3 -m pytest test/Python
"""
import os
import threading

import numpy as np
import pytest

import heed

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EX = os.path.join(ROOT, "examples")
BATCHES = [1, 2, 3, 4, 5, 7, 16, 33]


def example(name):
    return os.path.join(EX, name, "model.heed"), os.path.join(EX, name, "weights.safetensors")


def cyclic(a, batch):
    """Rows 0..batch-1 of `a` repeated cyclically (the difftest's scheme)."""
    return np.ascontiguousarray(a[np.arange(batch) % a.shape[0]])


def close(got, want, atol=1e-5, rtol=1e-4):
    np.testing.assert_allclose(got, want, atol=atol, rtol=rtol)


# --- Running against the goldens -------------------------------------------


@pytest.fixture(scope="module")
def dense_attention():
    model, weights = example("dense_attention")
    return heed.load(model, weights=weights)


def test_specs(dense_attention):
    assert len(heed.__version__.split(".")) == 3
    m = dense_attention
    assert m.inputs == [heed.TensorSpec("x", "float32", ("B", 10))]
    assert [o.name for o in m.outputs] == ["y", "attention"]
    assert m.outputs[0].shape == ("B", 1)
    assert m.compile(B=7) == {"y": (7, 1), "attention": (7, 10)}
    assert m.compile({"B": 2})["attention"] == (2, 10)


@pytest.mark.parametrize("batch", BATCHES)
def test_dense_attention_batches(dense_attention, batch):
    x = np.load(os.path.join(EX, "dense_attention", "x.npy"))
    golden = np.load(os.path.join(EX, "dense_attention", "golden.npz"))
    outs = dense_attention(x=x[:batch])
    assert list(outs) == ["y", "attention"]
    assert outs["y"].dtype == np.float32 and outs["y"].shape == (batch, 1)
    close(outs["y"], golden["y"][:batch])
    close(outs["attention"], golden["attention"][:batch])


def check_date_translation(m, batch):
    """`m` (the date translator) at `batch` against its golden."""
    d = os.path.join(EX, "date_translation")
    golden = np.load(os.path.join(d, "golden.npz"))
    ins = {n: cyclic(np.load(os.path.join(d, n + ".npy")), batch) for n in ["X", "s0", "c0"]}
    outs = m(**ins)
    close(outs["y"], cyclic(golden["y"], batch))
    close(outs["attention"], cyclic(golden["attention"], batch))


@pytest.mark.parametrize("batch,threads", [(1, 1), (5, 2), (33, 2), (16, 1)])
def test_date_translation(batch, threads):
    model, weights = example("date_translation")
    check_date_translation(heed.load(model, weights=weights, threads=threads), batch)


# --- Compiler options ---------------------------------------------------------


@pytest.mark.parametrize("options", [
    "fused=false",                                   # decomposed attention
    {"target": "gpu-schedule-on-cpu"},               # the GPU lowering, on the CPU
    "target=gpu-schedule-on-cpu gpu-precision=tf32x3\tfused=false",
    {"cells": "onednn", "dense": "onednn", "raise": False},
])
@pytest.mark.parametrize("batch", [1, 5, 33])
def test_options_against_goldens(options, batch):
    """Each lowering the options choose gives the PyTorch golden."""
    model, weights = example("date_translation")
    m = heed.load(model, weights=weights, options=options, threads=2)
    check_date_translation(m, batch)
    assert m.options == (options if isinstance(options, str) else " ".join(
        "%s=%s" % (k, str(v).lower()) for k, v in options.items()))


def test_options_pickle_and_errors():
    import pickle
    model, weights = example("dense_attention")
    m = heed.load(model, weights=weights, options="target=gpu-schedule-on-cpu")
    x = np.load(os.path.join(EX, "dense_attention", "x.npy"))
    copy = pickle.loads(pickle.dumps(m))
    assert copy.options == "target=gpu-schedule-on-cpu"
    np.testing.assert_array_equal(copy(x=x)["y"], m(x=x)["y"])
    for options, message in [
            ("nope=1", "unknown option 'nope' .options: cells, dense, fused"),
            ("fused=maybe", "option 'fused': 'maybe' is not true or false"),
            ({"target": "tpu"}, "'tpu' is not 'cpu', 'cuda' or 'gpu-schedule-on-cpu'"),
            ("gpu-multiprocessors=many", "'many' is not a whole number"),
            ("gpu-multiprocessors=-2", "gpu-multiprocessors must be -1"),
            ("cells=lstm", "option 'cells' must be 'auto', 'fused' or 'onednn'"),
            ("dense=blas", "option 'dense' must be 'auto', 'generated' or 'onednn'"),
            ("gpu-precision=bf16", "gpu-precision applies to target=cuda"),
            ("target=cuda gpu-chip=90", "gpu-chip must look like sm_90, not '90'"),
            ("target=cuda gpu-chip=sm_75 gpu-precision=bf16", "needs tensor cores"),
            ("gpu-chip", "option 'gpu-chip' needs a value"),
            (["target=cuda"], "expected a string such as"),
            ({"gpu chip": "sm_90"}, "names and values have no spaces")]:
        with pytest.raises(heed.Error, match=message):
            heed.load(model, options=options)


def test_options_cuda_without_a_driver():
    """target=cuda loads; compiling it needs a driver, and says so."""
    import ctypes
    try:
        ctypes.CDLL("libcuda.so.1")
        pytest.skip("this machine has a CUDA driver")
    except OSError:
        pass
    model, weights = example("dense_attention")
    m = heed.load(model, weights=weights, options={"target": "cuda"})
    with pytest.raises(heed.Error, match="^no CUDA driver: libcuda.so.1 not found$"):
        m.compile(B=4)
    with pytest.raises(heed.Error, match="no CUDA driver"):
        m(x=np.zeros((4, 10), np.float32))


def test_options_cuda_over_the_fake_driver():
    """target=cuda runs through Heed's CUDA runtime: the tests' fake driver
    (test/runtime/cuda/FakeCudaDriver.cpp) loads the PTX, checks and counts
    the launches but runs no kernel, so only the shapes are checked here,
    and that four threads running the model at once (a stream each) neither
    fail nor touch memory a launch still owns (which the fake driver
    catches)."""
    import subprocess
    import sys
    build = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(heed.__file__))))
    fake = os.path.join(build, "test", "fake-cuda")
    if not os.path.exists(os.path.join(fake, "libcuda.so.1")):
        pytest.skip("no fake CUDA driver in " + fake)
    model, weights = example("dense_attention")
    code = ("import heed, numpy as np\n"
            "m = heed.load(%r, weights=%r, options='target=cuda gpu-precision=bf16')\n"
            "for batch in (4, 33):\n"
            "    out = m(x=np.zeros((batch, 10), np.float32))\n"
            "    print(sorted((k, v.shape) for k, v in out.items()))\n"
            "import threading\n"
            "errors = []\n"
            "def work(batch):\n"
            "    try:\n"
            "        for _ in range(5):\n"
            "            assert m(x=np.zeros((batch, 10), np.float32))['y'].shape == (batch, 1)\n"
            "    except Exception as e:\n"
            "        errors.append(repr(e))\n"
            "threads = [threading.Thread(target=work, args=(b,)) for b in (4, 33, 5, 4)]\n"
            "[t.start() for t in threads]\n"
            "[t.join() for t in threads]\n"
            "print('threads done', errors)\n" % (model, weights))
    env = dict(os.environ, LD_LIBRARY_PATH=fake, FAKE_CUDA_SUMMARY="1", HEED_CACHE="0")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:3] == [
        "[('attention', (4, 10)), ('y', (4, 1))]",
        "[('attention', (33, 10)), ('y', (33, 1))]", "threads done []"]
    import re
    launches = re.search(r"(\d+) launches", r.stderr)
    assert launches and int(launches.group(1)) > 0, r.stderr


def test_keras3_positional_names_from_a_mapping():
    """Names as a Keras 3 weights-only file gives them (`layers.<class>.
    vars.<i>`) bind from memory too, matched by class and shape; the
    optimizer's state beside them is ignored; a PyTorch-layout model says
    it does not read them."""
    src = open(os.path.join(ROOT, "test", "Integration", "Inputs",
                            "keras_layer_norm.heed")).read()
    m = heed.load_source(src, name="ln.heed")
    rng = np.random.default_rng(5)
    gamma, beta = rng.standard_normal(6, np.float32), rng.standard_normal(6, np.float32)
    m.bind_weights({"layers.layer_normalization.vars.1": beta,
                    "layers.layer_normalization.vars.0": gamma,
                    "optimizer.vars.0": np.zeros(1, np.float32)})
    x = rng.standard_normal((3, 6), np.float32)
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    close(m(x=x)["y"], (x - mean) / np.sqrt(var + 1e-3) * gamma + beta)
    with pytest.raises(heed.Error, match="no group of class layer_normalization has"):
        m.bind_weights({"layers.layer_normalization.vars.0": gamma})
    torch_layout = heed.load_source(src.replace("weights keras", ""), name="ln.heed")
    with pytest.raises(heed.Error, match="a model reads one when it says `weights keras`"):
        torch_layout.bind_weights({"layers.layer_normalization.vars.0": gamma,
                                   "layers.layer_normalization.vars.1": beta})


def test_keras_h5_weights(tmp_path):
    """A Keras model's weights as model.save_weights("w.h5") writes them
    (h5py), bound by path and again after other weights."""
    import subprocess
    import sys
    ref = os.path.join(ROOT, "tools", "reference")
    d = os.path.join(EX, "date_translation")
    keras_layout = str(tmp_path / "date.safetensors")
    h5 = str(tmp_path / "date.h5")
    subprocess.run([sys.executable, os.path.join(ref, "to_keras_layout.py"),
                    os.path.join(d, "weights.safetensors"), keras_layout], check=True)
    subprocess.run([sys.executable, os.path.join(ref, "keras_h5.py"), keras_layout, h5],
                   check=True)
    model = os.path.join(ROOT, "test", "Integration", "Inputs", "date_translation_keras.heed")
    m = heed.load(model, weights=h5)
    golden = np.load(os.path.join(d, "golden.npz"))
    ins = {n: cyclic(np.load(os.path.join(d, n + ".npy")), 3) for n in ["X", "s0", "c0"]}
    close(m(**ins)["y"], cyclic(golden["y"], 3))
    # A Keras file for a PyTorch-layout model: the error says what is wrong.
    with pytest.raises(heed.Error, match="weights keras"):
        heed.load(os.path.join(d, "model.heed"), weights=h5)
    # model.save's config where the model file disagrees: an error naming
    # the layer at its line.
    bad = str(tmp_path / "date-model.h5")
    subprocess.run([sys.executable, os.path.join(ref, "keras_h5.py"), keras_layout, bad,
                    "--full-model", "--layer-config", 'densor1:activation="relu"'],
                   check=True)
    with pytest.raises(heed.Error, match=r"date_translation_keras\.heed:\d+:7: layer "
                       r"'densor1' \(dense\): the Keras Dense 'densor1' applies relu"):
        heed.load(model, weights=bad)


def test_keras_archive_and_tf_checkpoint(tmp_path):
    """Keras 3's model.save("m.keras") and a TensorFlow checkpoint given by
    its prefix (no extension), as tools/reference writes them."""
    import subprocess
    import sys
    ref = os.path.join(ROOT, "tools", "reference")
    d = os.path.join(EX, "date_translation")
    keras_layout = str(tmp_path / "date.safetensors")
    subprocess.run([sys.executable, os.path.join(ref, "to_keras_layout.py"),
                    os.path.join(d, "weights.safetensors"), keras_layout], check=True)
    archive = str(tmp_path / "date.keras")
    subprocess.run([sys.executable, os.path.join(ref, "keras3_archive.py"), keras_layout,
                    archive, "--layer-config", "pre_attention/layer:return_sequences=true"],
                   check=True)
    prefix = str(tmp_path / "ckpt" / "ckpt-1")
    subprocess.run([sys.executable, os.path.join(ref, "tf_checkpoint.py"), keras_layout,
                    prefix, "--root", ""], check=True)
    model = os.path.join(ROOT, "test", "Integration", "Inputs", "date_translation_keras.heed")
    golden = np.load(os.path.join(d, "golden.npz"))
    ins = {n: cyclic(np.load(os.path.join(d, n + ".npy")), 2) for n in ["X", "s0", "c0"]}
    for weights in (archive, prefix):
        m = heed.load(model, weights=weights)
        close(m(**ins)["y"], cyclic(golden["y"], 2))
    # Bound again, from the archive, after the checkpoint.
    m.bind_weights(archive)
    close(m(**ins)["attention"], cyclic(golden["attention"], 2))


def test_pickle_and_multiprocessing(tmp_path):
    """A model pickles as what it was made from (a path or source text,
    parameters, weight options, the weight file, threads) and runs the
    same in a spawned worker process; one bound from a mapping says why it
    does not pickle."""
    import multiprocessing
    import pickle
    d = os.path.join(EX, "date_translation")
    m = heed.load(os.path.join(d, "model.heed"),
                  weights=os.path.join(d, "weights.safetensors"), threads=2)
    ins = {n: cyclic(np.load(os.path.join(d, n + ".npy")), 3) for n in ["X", "s0", "c0"]}
    expected = m(**ins)
    copy = pickle.loads(pickle.dumps(m))
    assert copy.threads == 2
    np.testing.assert_array_equal(copy(**ins)["y"], expected["y"])
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        outs = pool.apply(m, (), ins)
    np.testing.assert_array_equal(outs["y"], expected["y"])
    np.testing.assert_array_equal(outs["attention"], expected["attention"])
    # Source text with a parameter and a prefix option.
    src = open(os.path.join(EX, "nmt", "model.heed")).read()
    nmt = heed.load_source(src, name="nmt.heed", params={"MAX_LEN": 4},
                           weights=os.path.join(EX, "nmt", "weights.safetensors"))
    source = np.load(os.path.join(EX, "nmt", "source.npy"))
    again = pickle.loads(pickle.dumps(nmt))
    assert again.compile(B=4, TX=source.shape[1])["tokens"] == (4, 4)
    np.testing.assert_array_equal(again(source=source)["tokens"],
                                  nmt(source=source)["tokens"])
    # Weights from a mapping are Heed's copy alone.
    import sys
    sys.path.insert(0, os.path.join(ROOT, "tools", "reference"))
    from tensorio import load_safetensors
    mapped = heed.load(os.path.join(d, "model.heed"),
                       weights=load_safetensors(os.path.join(d, "weights.safetensors")))
    with pytest.raises(TypeError, match="bound from a mapping"):
        pickle.dumps(mapped)


def test_integer_ids():
    """Token ids as int64 (what numpy and PyTorch write) run like floats."""
    model, weights = example("nmt")
    m = heed.load(model, weights=weights)
    source = np.load(os.path.join(EX, "nmt", "source.npy"))
    golden = np.load(os.path.join(EX, "nmt", "golden.npz"))
    outs = m(source=source.astype(np.int64))
    assert outs["tokens"].dtype == np.int64 and outs["lengths"].dtype == np.int64
    np.testing.assert_array_equal(outs["tokens"], golden["tokens"])
    np.testing.assert_array_equal(outs["lengths"], golden["lengths"])
    close(outs["hidden"], golden["hidden"])
    with pytest.raises(heed.Error, match=r"input 'source'.*element 3 is 99"):
        bad = source.astype(np.int64)
        bad.reshape(-1)[3] = 99
        m(source=bad)


def test_integer_tensors():
    """Inputs declared i64/i32/bool and integer outputs (int64), against
    tools/reference/integer_inputs.py."""
    d = os.path.join(ROOT, "test", "Integration", "Inputs", "integer_inputs")
    m = heed.load(os.path.join(d, "model.heed"),
                  weights=os.path.join(d, "weights.safetensors"))
    assert [s.dtype for s in m.inputs] == ["int64", "int32", "bool"]
    assert [o.dtype for o in m.outputs] == ["float32", "int64", "int64", "int64"]
    golden = np.load(os.path.join(d, "golden.npz"))
    ins = {n: np.load(os.path.join(d, n + ".npy")) for n in ["ids", "lengths", "mask"]}
    for batch in [1, 3, 7]:
        outs = m(**{k: cyclic(v, batch) for k, v in ins.items()})
        for k in ["best", "total", "n"]:
            assert outs[k].dtype == np.int64
            np.testing.assert_array_equal(outs[k], cyclic(golden[k], batch))
        close(outs["masked"], cyclic(golden["masked"], batch))
    with pytest.raises(heed.Error, match=r"input 'ids' is declared int64, but the array given is float32"):
        m(ids=ins["ids"].astype(np.float32), lengths=ins["lengths"], mask=ins["mask"])
    with pytest.raises(heed.Error, match=r"input 'mask' is declared bool, but element 0 is 2"):
        m(ids=ins["ids"], lengths=ins["lengths"], mask=ins["mask"].astype(np.int64) * 2)


def test_positional_and_params():
    m = heed.load_source(
        "model scale(K = 2)\ninput a: [B, 3]\ninput b: [B, 3]\noutput y = a * K + b\n",
        params={"K": 3})
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(m(a, b)["y"], a * 3 + b)
    np.testing.assert_array_equal(m(a, b=b)["y"], m.run(b=b, a=a)["y"])


def test_noncontiguous_and_float16_inputs(dense_attention):
    x = np.load(os.path.join(EX, "dense_attention", "x.npy"))[:8]
    want = dense_attention(x=x)["y"]
    strided = np.asfortranarray(x)
    assert not strided.flags.c_contiguous
    np.testing.assert_array_equal(dense_attention(x=strided)["y"], want)
    every_other = np.repeat(x, 2, axis=0)[::2]
    np.testing.assert_array_equal(dense_attention(x=every_other)["y"], want)
    half = x.astype(np.float16)
    close(dense_attention(x=half)["y"], dense_attention(x=half.astype(np.float32))["y"], atol=0)
    # Nested lists of Python floats: float32, as the arrays they spell.
    np.testing.assert_array_equal(dense_attention(x=x.tolist())["y"], want)


def test_threads_at_once(dense_attention):
    """Several Python threads run one model at once (the GIL is released)."""
    x = np.load(os.path.join(EX, "dense_attention", "x.npy"))[:40]
    want = dense_attention(x=x)["attention"]
    errors = []

    def worker():
        try:
            for _ in range(50):
                np.testing.assert_array_equal(dense_attention(x=x)["attention"], want)
        except Exception as e:  # reported on the main thread
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_bind_while_running():
    """Weights rebound and `threads` set in one thread while others run the
    model: each run matches one set of weights exactly."""
    model, _ = example("dense_attention")
    rng = np.random.default_rng(0)
    first = {f"{layer}.{kind}": rng.standard_normal(shape).astype(np.float32)
             for layer, out in [("attention_vec", 10), ("hidden", 10), ("head", 1)]
             for kind, shape in [("weight", (out, 10)), ("bias", (out,))]}
    sets = [first, {k: v * np.float32(0.875) for k, v in first.items()}]
    x = np.load(os.path.join(EX, "dense_attention", "x.npy"))[:40]
    m = heed.load(model)
    want = []
    for weights in sets:
        m.bind_weights(weights)
        want.append(m(x=x)["y"])
    assert not np.array_equal(want[0], want[1])
    counts, errors = [0, 0, 0], []

    def runner():
        try:
            for _ in range(40):
                y = m(x=x)["y"]
                counts[next((i for i in (0, 1) if np.array_equal(y, want[i])), 2)] += 1
        except Exception as e:  # reported on the main thread
            errors.append(e)

    runners = [threading.Thread(target=runner) for _ in range(3)]
    for t in runners:
        t.start()
    b = 0
    while any(t.is_alive() for t in runners) or b < 6:
        m.bind_weights(sets[b % 2])
        m.threads = 1 + b % 3
        b += 1
    for t in runners:
        t.join()
    assert not errors, errors
    assert counts[2] == 0, f"{counts[2]} of {sum(counts)} runs match neither set"


# --- A PyTorch model, state_dict to Heed with no files in between ----------

TAGGER = """\
model tagger(H = 16, C = 5)
input x: [B, T, 8]
input h0: [B, H]
input c0: [B, H]
layer enc = lstm(H, return_sequences=1)
layer score = dense(1)
layer head = dense(C)
layer step = gru_cell(H)
h = enc(x, h0, c0)                      # [B, T, H]
a = softmax(score(tanh(h)), axis=1)     # [B, T, 1]
context = sum(a * h, axis=1)            # [B, H]
g = step(context, h0)
output y = head(g)
output weights = squeeze(a, -1)
"""


def test_pytorch_state_dict():
    torch = pytest.importorskip("torch")
    nn = torch.nn

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.LSTM(8, 16, batch_first=True)
            self.score = nn.Linear(16, 1)
            self.head = nn.Linear(16, 5)
            self.step = nn.GRUCell(16, 16)

        def forward(self, x, h0, c0):
            h, _ = self.enc(x, (h0[None], c0[None]))
            a = torch.softmax(self.score(torch.tanh(h)), dim=1)
            context = (a * h).sum(1)
            return self.head(self.step(context, h0)), a.squeeze(-1)

    torch.manual_seed(0)
    net = Tagger().eval()
    m = heed.load_source(TAGGER, name="tagger.heed", weights=net.state_dict())
    # The same saved from a wrapper with optimizer state beside it.
    wrapped = {"module." + k: v for k, v in net.state_dict().items()}
    wrapped["optimizer.step"] = torch.zeros(1)
    with pytest.raises(heed.Error, match=r"missing enc\.weight_ih_l0"):
        heed.load_source(TAGGER, name="tagger.heed", weights=wrapped)
    with pytest.raises(heed.Error, match=r"unexpected optimizer\.step"):
        heed.load_source(TAGGER, name="tagger.heed", weights=wrapped,
                         weights_prefix="module.")
    m2 = heed.load_source(TAGGER, name="tagger.heed", weights=wrapped,
                          weights_prefix="module.", ignore_extra_weights=True)
    for batch in [1, 3, 33]:
        x = torch.randn(batch, 11, 8)
        h0, c0 = torch.randn(batch, 16), torch.randn(batch, 16)
        with torch.no_grad():
            y, w = net(x, h0, c0)
        outs = m(x=x, h0=h0, c0=c0)  # tensors in, arrays out
        close(outs["y"], y.numpy())
        close(outs["weights"], w.numpy())
        np.testing.assert_array_equal(m2(x=x, h0=h0, c0=c0)["y"], outs["y"])


# --- Bad input: a heed.Error with Heed's message, never a crash ------------


def test_fork_after_running():
    """A process that forks after its models ran and compiled (a server's
    workers forked after loading, os.fork): the child runs them, compiles
    a new shape, and exits. The child hung at exit joining the parent's
    worker threads (Heed's pool, MLIR's), none of which it has."""
    import subprocess
    import sys
    script = """
import os, sys, time, numpy as np, heed
ex = sys.argv[1]
m = heed.load(ex + "/nmt/model.heed", weights=ex + "/nmt/weights.safetensors")
big = np.tile(np.load(ex + "/nmt/source.npy"), (16, 1))
want = m(source=big)["tokens"]
pid = os.fork()
if pid == 0:
    ok = bool((m(source=big)["tokens"] == want).all())
    ok &= bool((m(source=big[:24])["tokens"] == want[:24]).all())  # compiled here
    sys.exit(0 if ok else 3)
for _ in range(120):
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        print("child", os.waitstatus_to_exitcode(status))
        sys.exit(0)
    time.sleep(0.25)
os.kill(pid, 9)
print("child hung")
"""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path),
               HEED_CACHE="0",          # compile in this process
               HEED_LOAD_AWARE="0")     # workers even on a busy machine
    out = subprocess.run([sys.executable, "-c", script, EX], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "child 0"


def test_numbers_whatever_the_locale(tmp_path):
    """A program that sets a locale whose decimal point is a comma
    (setlocale(LC_ALL, "") under de_DE) reads the same model: strtod read
    "0.5" as 0, and the parameter 2.5 went to the model as "2,5"; messages
    wrote 0.5 as "0,5"."""
    import shutil
    import subprocess
    import sys
    if not shutil.which("localedef"):
        pytest.skip("no localedef to make a de_DE locale")
    made = subprocess.run(["localedef", "-i", "de_DE", "-f", "UTF-8",
                           str(tmp_path / "de_DE.UTF-8")], capture_output=True)
    if not (tmp_path / "de_DE.UTF-8").exists():
        pytest.skip("localedef could not make de_DE: %s" % made.stderr[-200:])
    script = """
import locale, numpy as np, heed
locale.setlocale(locale.LC_ALL, "de_DE.UTF-8")
assert locale.localeconv()["decimal_point"] == ","
m = heed.load_source("model m(S = 1.5)\\ninput x: [B, 4]\\n"
                     "output y = x * 0.5 + 0.25 + S * 1e-1\\n", params={"S": 2.5})
print(m(x=np.ones((1, 4), np.float32))["y"][0, 0])
try:
    heed.load_source("model c\\ninput x: [B, 4]\\noutput y = clip(x, 0.5, 0.25)\\n")
except heed.Error as e:
    assert "lower bound 0.5 is above its upper bound 0.25" in str(e), str(e)
else:
    raise AssertionError("clip(x, 0.5, 0.25) loaded")
"""
    env = dict(os.environ, LOCPATH=str(tmp_path),
               PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", script], env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert float(out.stdout) == pytest.approx(1.0, abs=1e-6)


def test_model_with_errors():
    with pytest.raises(heed.Error, match=r"bad\.heed:3:1: error: expected ',' or '\]'"):
        heed.load_source("model bad\ninput x: [B, nope_dim\n", name="bad.heed")
    with pytest.raises(heed.Error, match=r"bad\.heed:3:12: error: unknown function or layer 'nope'"):
        heed.load_source("model bad\ninput x: [B, 3]\noutput y = nope(x)\n", name="bad.heed")
    with pytest.raises(heed.Error, match="cannot read model file"):
        heed.load("/nonexistent/model.heed")
    with pytest.raises(heed.Error, match="has no parameter 'NOPE'"):
        heed.load(example("dense_attention")[0], params={"NOPE": 1})
    with pytest.raises(heed.Error, match="expected a number"):
        heed.load(example("dense_attention")[0], params={"TIME_STEP": "ten"})


def test_bad_weights():
    model, weights = example("dense_attention")
    with pytest.raises(heed.Error, match="no weights bound"):
        heed.load(model)(x=np.zeros((1, 10), np.float32))
    good = {"attention_vec.weight": np.eye(10, dtype=np.float32),
            "attention_vec.bias": np.zeros(10, np.float32),
            "hidden.weight": np.eye(10, dtype=np.float32),
            "hidden.bias": np.zeros(10, np.float32),
            "head.weight": np.ones((1, 10), np.float32),
            "head.bias": np.zeros(1, np.float32)}
    m = heed.load(model, weights=good)
    x = np.linspace(-1, 1, 20, dtype=np.float32).reshape(2, 10)
    before = m(x=x)["y"]
    assert before.shape == (2, 1)
    wrong = dict(good, **{"head.weight": np.ones((2, 10), np.float32)})
    with pytest.raises(heed.Error, match=r"head\.weight.*\[2, 10\].*\[1, 10\]"):
        m.bind_weights(wrong)
    missing = {k: v for k, v in good.items() if k != "hidden.bias"}
    with pytest.raises(heed.Error, match=r"missing.*hidden\.bias"):
        m.bind_weights(missing)
    with pytest.raises(heed.Error, match=r"unexpected.*optimizer\.step"):
        m.bind_weights(dict(good, **{"optimizer.step": np.zeros(1, np.float32)}))
    with pytest.raises(heed.Error, match=r"weight 'head\.bias': element 0 is 33554433"):
        m.bind_weights(dict(good, **{"head.bias": np.array([2**25 + 1], np.int64)}))
    with pytest.raises(heed.Error, match=r"weight 'hidden\.bias': element 3 is -1e\+300, beyond float32's range"):
        big = np.zeros(10)
        big[3] = -1e300
        m.bind_weights(dict(good, **{"hidden.bias": big}))
    with pytest.raises(heed.Error, match=r"weight 'head\.bias' is <U1; weights must be numbers"):
        m.bind_weights(dict(good, **{"head.bias": np.array(["a"])}))
    with pytest.raises(heed.Error, match="expected a path or a mapping"):
        m.bind_weights(42)
    with pytest.raises(heed.Error, match="/nonexistent/w.safetensors"):
        m.bind_weights("/nonexistent/w.safetensors")
    # A failed bind keeps the weights bound before it.
    np.testing.assert_array_equal(m(x=x)["y"], before)
    m.bind_weights(weights)
    assert not np.array_equal(m(x=x)["y"], before)


def test_integer_weights_and_batchnorm_counter():
    """Integer weights are converted exactly; BatchNorm's step counter (an
    int64 that may pass 2**24) is left out, as the file loaders leave it."""
    model, _ = example("dense_attention")
    rng = np.random.default_rng(1)
    ints = {f"{layer}.{kind}": rng.integers(-3, 4, shape)
            for layer, out in [("attention_vec", 10), ("hidden", 10), ("head", 1)]
            for kind, shape in [("weight", (out, 10)), ("bias", (out,))]}
    x = np.load(os.path.join(EX, "dense_attention", "x.npy"))[:5]
    want = heed.load(model, weights={k: v.astype(np.float32) for k, v in ints.items()})(x=x)
    got = heed.load(model, weights=dict(ints, **{
        "bn.num_batches_tracked": np.array(2**40, np.int64)}))(x=x)
    np.testing.assert_array_equal(got["y"], want["y"])


def test_torch_checkpoint_file(tmp_path):
    """A torch.save checkpoint binds by path as the CLI reads it."""
    model, _ = example("dense_attention")
    ckpt = os.path.join(ROOT, "test", "Integration", "Inputs", "torch_checkpoints")
    x = np.load(os.path.join(EX, "dense_attention", "x.npy"))
    golden = np.load(os.path.join(EX, "dense_attention", "golden.npz"))
    close(heed.load(model, weights=os.path.join(ckpt, "state_dict.pt"))(x=x)["y"],
          golden["y"])
    m = heed.load(model, weights=os.path.join(ckpt, "training.ckpt"),
                  weights_prefix="model.", ignore_extra_weights=True)
    close(m(x=x)["attention"], golden["attention"])
    # The format before PyTorch 1.6, and a file that is no checkpoint.
    m.bind_weights(os.path.join(ckpt, "legacy_training.ckpt"))
    close(m(x=x)["y"], golden["y"])
    with pytest.raises(heed.Error, match=r"golden\.npz\.pt: not a PyTorch checkpoint"):
        bad = os.path.join(str(tmp_path), "golden.npz.pt")
        with open(bad, "wb") as f:
            f.write(b"\x93NUMPY")
        m.bind_weights(bad)


def test_bad_inputs(dense_attention):
    m = dense_attention
    x = np.zeros((4, 10), np.float32)
    with pytest.raises(heed.Error, match=r"input 'x' has shape \[4, 9\].*\[B, 10\]"):
        m(x=np.zeros((4, 9), np.float32))
    with pytest.raises(heed.Error, match=r"input 'x' has shape \[4\]"):
        m(x=np.zeros(4, np.float32))
    with pytest.raises(heed.Error, match=r"input 'x' is float64.*astype"):
        m(x=x.astype(np.float64))
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        with pytest.raises(heed.Error, match=r"input 'x' is float64.*\.float\(\) for a PyTorch"):
            m(x=torch.from_numpy(x).double())
    # A scalar keeps rank 0 (np.ascontiguousarray made it [1]: the error
    # then spoke of dimension B).
    for scalar in (np.array(3, np.float32), np.float32(3), 3):
        with pytest.raises(heed.Error, match=r"input 'x' has shape \[\], the model declares \[B, 10\] \(rank 2\)"):
            m(x=scalar)
    with pytest.raises(heed.Error, match=r"missing input 'x' \[B, 10\]"):
        m()
    with pytest.raises(heed.Error, match=r"unknown input 'z' \(the model takes: x\)"):
        m(x=x, z=x)
    with pytest.raises(heed.Error, match="given twice"):
        m(x, x=x)
    with pytest.raises(heed.Error, match="2 inputs given, the model takes 1"):
        m(x, x)
    with pytest.raises(heed.Error, match="expected a NumPy array or a PyTorch tensor"):
        m(x=None)
    with pytest.raises(heed.Error, match=r"element 5 is 16777217"):
        ids = np.zeros((4, 10), np.int64)
        ids.reshape(-1)[5] = 2 ** 24 + 1
        m(x=ids)
    with pytest.raises(heed.Error, match="dimension B must be positive"):
        m(x=np.zeros((0, 10), np.float32))
    with pytest.raises(heed.Error, match="the inputs have no dimension T"):
        m.compile(B=2, T=3)
    with pytest.raises(heed.Error, match="dimension B of input 'x'"):
        m.compile()
    with pytest.raises(heed.Error, match="threads: expected a count"):
        m.threads = -1
    assert isinstance(heed.Error("x"), RuntimeError)
