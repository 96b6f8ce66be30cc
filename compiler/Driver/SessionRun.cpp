//===- SessionRun.cpp - Running a session's compiled model ----------------===//
//
// Part of Heed. The run side of Session: the inputs' element types and
// ranges checked against the model's declarations, the output buffers
// against the shapes the inputs give, the batch split into blocks of rows
// (each compiled for its size, run on the thread pool), and each block's
// call into the JIT-compiled model (or, for --target=cuda, SessionDevice.cpp).
//
//===----------------------------------------------------------------------===//

#include "compiler/Driver/Session.h"

#include "runtime/Limits.h"
#include "runtime/Numbers.h"
#include "runtime/ThreadPool.h"

#include <cmath>
#include <new>

using namespace heed;
using llvm::Twine;

static llvm::Error fail(const Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

llvm::Error Session::checkInputTypes(const rt::NamedTensors &inputs) const {
  std::vector<std::string> problems;
  for (auto &in : ast->inputs) {
    const rt::Tensor *t = nullptr;
    for (auto &[name, tensor] : inputs)
      if (name == in.name)
        t = &tensor;
    if (!t)
      continue;
    // float64 is read for weights (as load_state_dict copies it into
    // float32 parameters); inputs, as in PyTorch and ONNX Runtime, must be
    // of the model's type.
    if (t->elementType() == rt::ElementType::F64) {
      problems.push_back("input '" + in.name +
                         "' holds float64 values; Heed computes in float32 "
                         "(save it with x.astype(np.float32))");
      continue;
    }
    // Declared ids, lengths and masks come as integers (or booleans);
    // their values are exact in float32 (the readers check).
    if (in.isInteger() && !rt::isInteger(t->elementType())) {
      problems.push_back("input '" + in.name + "' is declared " +
                         in.elementType + ", but the tensor given holds " +
                         rt::elementTypeName(t->elementType()) +
                         " values (save ids, lengths and masks as integers: "
                         "x.astype(np.int64))");
      continue;
    }
    if (in.elementType == "bool")
      for (int64_t i = 0; i < t->numElements(); ++i)
        if ((*t)[i] != 0.0f && (*t)[i] != 1.0f) {
          problems.push_back("input '" + in.name +
                             "' is declared bool, but "
                             "element " +
                             std::to_string(i) + " is " +
                             rt::formatGeneral((*t)[i]) +
                             " (booleans are 0 or 1)");
          break;
        }
  }
  if (problems.empty())
    return llvm::Error::success();
  std::string msg = problems[0];
  for (size_t i = 1; i < problems.size(); ++i)
    msg += "\n" + problems[i];
  return fail(msg);
}

llvm::Error
Session::checkInputRanges(const rt::NamedTensors &inputs,
                          const llvm::StringMap<int64_t> &dims) const {
  for (const auto &range : ast->inputRanges) {
    int64_t max = range.upper(dims);
    for (auto &[name, t] : inputs) {
      if (name != range.input)
        continue;
      for (int64_t i = 0; i < t.numElements(); ++i) {
        float v = t.data()[i];
        if (v == std::floor(v) && v >= float(range.min) && v <= float(max))
          continue;
        return fail("input '" + name + "' " + rt::shapeToString(t.shape()) +
                    ": element " + std::to_string(i) + " is " +
                    (v == std::floor(v) && std::fabs(v) < 1e15
                         ? std::to_string(int64_t(v))
                         : rt::formatGeneral(v)) +
                    ", but the " + range.role + " must be integers in [" +
                    std::to_string(range.min) + ", " + std::to_string(max) +
                    "]");
      }
    }
  }
  return llvm::Error::success();
}

llvm::Error Session::runRows(Compiled &model, const rt::NamedTensors &inputs,
                             rt::NamedTensors &outputs, int64_t row,
                             int64_t rows, int64_t batchSize) {
  // A block of rows of a row-major [B, ...] tensor is one contiguous range.
  auto block = [&](const rt::Tensor &t) -> BufferArg {
    std::vector<int64_t> shape = t.shape();
    float *data = const_cast<float *>(t.data());
    if (rows == batchSize)
      return {data, shape};
    int64_t perRow = t.numElements() / batchSize;
    shape[0] = rows;
    return {data + row * perRow, shape};
  };
  if (options.target == Target::CUDA)
    return runOnDevice(model, inputs, outputs);
  std::vector<BufferArg> args;
  for (auto &in : ast->inputs)
    for (auto &[name, t] : inputs)
      if (name == in.name)
        args.push_back(block(t));
  for (auto &w : weights)
    args.push_back({w.data(), w.shape()});
  for (auto &p : model.prepared)
    args.push_back({p.data(), p.shape()});
  for (auto &[name, t] : outputs)
    args.push_back(block(t));
  if (auto err = model.jit->invoke(0, args))
    return err;
  // Kernel errors are kept per thread: taken on the thread that ran.
  std::string kernelError = model.kernels->takeError();
  if (!kernelError.empty())
    return fail("while running '" + ast->name + "': " + kernelError);
  return llvm::Error::success();
}

llvm::Expected<std::vector<std::vector<int64_t>>>
Session::outputShapes(const rt::NamedTensors &inputs) const {
  auto dims = bindDims(inputs);
  if (!dims)
    return dims.takeError();
  std::vector<std::vector<int64_t>> shapes;
  uint64_t outputBytes = 0;
  for (auto &out : ast->outputs) {
    std::vector<int64_t> shape = concreteShape(out.value->type, *dims);
    // Checked before anything is allocated: each output, then all of them
    // together, against the limits and the memory cap.
    if (auto err = limits::checkTensorSize(shape, sizeof(float),
                                           "output '" + out.name + "'"))
      return std::move(err);
    outputBytes += uint64_t(rt::checkedNumElements(shape)) * sizeof(float);
    if (outputBytes > limits::memoryLimit())
      return fail("the outputs of '" + ast->name + "' need " +
                  Twine(outputBytes) +
                  " bytes or more, above the memory "
                  "limit of " +
                  Twine(limits::memoryLimit()) + " bytes (" +
                  limits::memoryLimitOrigin() + ")");
    shapes.push_back(std::move(shape));
  }
  return shapes;
}

llvm::Expected<rt::NamedTensors> Session::run(const rt::NamedTensors &inputs) {
  auto shapes = outputShapes(inputs);
  if (!shapes)
    return shapes.takeError();
  rt::NamedTensors outputs;
  for (size_t i = 0; i < shapes->size(); ++i) {
    rt::Tensor t((*shapes)[i]);
    if (ast->outputs[i].integer) // written as int64
      t.setElementType(rt::ElementType::I64);
    outputs.emplace_back(ast->outputs[i].name, std::move(t));
  }
  if (auto err = runInto(inputs, outputs))
    return std::move(err);
  return outputs;
}

std::vector<int64_t> Session::blockRows(int64_t batchSize) const {
  // Blocks of at most rowsPerBlock rows, sizes differing by at most one.
  // They depend on the batch size only, never on the thread count: one
  // thread runs the same blocks as several, so every thread count gives
  // bit-identical results (code compiled for 7 rows may round differently
  // from code compiled for 4).
  // On a GPU the whole batch is one launch's work.
  if (!batchSymbol || options.target == Target::CUDA)
    return {batchSize};
  int64_t rows = rowBlock, maxBlocks = batchSize;
  if (rows == kAutoRowsPerBlock) {
    // Measured: a block costs about 5 us (dense_attention, 231 weights,
    // ran 7x slower at batch 1000 in blocks of 16); 2^18 weight-rows is
    // well above that for every example.
    constexpr int64_t kMinRows = 16, kBlockWork = int64_t(1) << 18,
                      kMaxBlocks = 8;
    rows = std::max(kMinRows,
                    (kBlockWork + weightElements) / (weightElements + 1));
    maxBlocks = kMaxBlocks;
  }
  int64_t blocks =
      rows ? std::min((batchSize + rows - 1) / rows, maxBlocks) : int64_t(1);
  if (blocks <= 1)
    return {batchSize};
  std::vector<int64_t> sizes;
  for (int64_t b = 0; b < blocks; ++b)
    sizes.push_back(batchSize / blocks + (b < batchSize % blocks ? 1 : 0));
  return sizes;
}

llvm::Error Session::planBlocks(const llvm::StringMap<int64_t> &dims,
                                std::vector<int64_t> &blockStart,
                                std::vector<Compiled *> &blockModel) {
  int64_t batchSize = batchSymbol ? dims.lookup(*batchSymbol) : 1;
  std::vector<int64_t> sizes = blockRows(batchSize);
  blockStart = {0};
  blockModel.clear();
  for (int64_t size : sizes) {
    llvm::StringMap<int64_t> blockDims = dims;
    if (batchSymbol)
      blockDims[*batchSymbol] = size;
    auto model = compiled(blockDims); // cached: at most two sizes
    if (!model)
      return model.takeError();
    blockModel.push_back(*model);
    blockStart.push_back(blockStart.back() + size);
  }
  return llvm::Error::success();
}

llvm::Error Session::compileFor(const rt::NamedTensors &inputs) {
  auto dims = bindDims(inputs);
  if (!dims)
    return dims.takeError();
  auto noBind = lockForRun();
  std::vector<int64_t> blockStart;
  std::vector<Compiled *> blockModel;
  return planBlocks(*dims, blockStart, blockModel);
}

llvm::Error Session::runInto(const rt::NamedTensors &inputs,
                             rt::NamedTensors &outputs) {
  auto noBind = lockForRun(); // the weights and code stay until the end
  if (!weightsBound)
    return fail("no weights bound (use --weights FILE)");
  auto dims = bindDims(inputs);
  if (!dims)
    return dims.takeError();
  if (auto err = checkInputTypes(inputs))
    return err;
  if (auto err = checkInputRanges(inputs, *dims))
    return err;
  if (outputs.size() != ast->outputs.size())
    return fail("'" + ast->name + "' has " + Twine(ast->outputs.size()) +
                " outputs; " + Twine(outputs.size()) + " buffers were given");
  for (size_t i = 0; i < outputs.size(); ++i) {
    std::vector<int64_t> want =
        concreteShape(ast->outputs[i].value->type, *dims);
    if (outputs[i].second.shape() != want)
      return fail("output '" + ast->outputs[i].name + "': the buffer is " +
                  rt::shapeToString(outputs[i].second.shape()) +
                  ", but these inputs give " + rt::shapeToString(want));
    if (!outputs[i].second.data() && outputs[i].second.numElements())
      return fail("output '" + ast->outputs[i].name + "': no buffer given");
  }
  std::vector<int64_t> blockStart;
  std::vector<Compiled *> blockModel;
  if (auto err = planBlocks(*dims, blockStart, blockModel))
    return err;
  int64_t batchSize = blockStart.back();
  std::vector<std::string> errors(blockModel.size());
  // Each block's parallel loops get its share of the threads.
  unsigned threads = threadCount;
  unsigned share = std::max(1u, threads / unsigned(blockModel.size()));
  rt::ThreadPool::shared().parallelFor(
      unsigned(blockModel.size()), threads, [&](unsigned b) {
        rt::ScopedLoopThreads loops(share);
        // Nothing may throw out of the pool (ThreadPool.h).
        try {
          if (auto err = runRows(*blockModel[b], inputs, outputs, blockStart[b],
                                 blockStart[b + 1] - blockStart[b], batchSize))
            errors[b] = llvm::toString(std::move(err));
        } catch (const std::bad_alloc &) {
          errors[b] = "out of memory while running '" + ast->name + "'";
        }
      });
  for (auto &e : errors)
    if (!e.empty())
      return fail(e);
  return llvm::Error::success();
}
