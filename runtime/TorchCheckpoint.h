//===- TorchCheckpoint.h - Tensors of a torch.save file ---------*- C++ -*-===//
//
// Part of Heed. `torch.save(model.state_dict(), "model.pt")` writes a zip
// archive (PyTorch 1.6 and later): `NAME/data.pkl`, a pickle of the
// object, and `NAME/data/KEY`, the raw bytes of each tensor storage. Heed
// reads it without Python and without running anything the pickle names:
// a small pickle machine knows dicts, lists, tuples, numbers, strings and
// PyTorch's tensor and parameter rebuild functions, and every other object
// (an optimizer's classes, a training script's hyperparameters) becomes an
// opaque value: skipped, or, when its state is a dict (a whole nn.Module
// saved), searched for tensors by attribute name as state_dict names them. The
// tensors are named by their path through the dicts and lists
// (`model.fc.weight` under a checkpoint's `model` key; `--weights-prefix
// model.` strips it). The format before PyTorch 1.6 (and
// `_use_new_zipfile_serialization=False`) is read too: the same pickle,
// between pickles of the format's header and of its storages' keys, then
// each storage's element count and bytes.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_TORCHCHECKPOINT_H
#define HEED_RUNTIME_TORCHCHECKPOINT_H

#include "runtime/TensorFile.h"

#include "llvm/Support/JSON.h"

namespace heed::rt {

/// The tensors of a torch.save archive, in pickle order. float64 and
/// other types Heed does not read are errors (or, with
/// ValueErrors::WhenUsed, tensors whose valueError says so).
llvm::Expected<NamedTensors>
parseTorchCheckpoint(llvm::StringRef bytes, const std::string &path,
                     ValueErrors values = ValueErrors::Report);

/// The nn.Modules a checkpoint saved whole (`torch.save(model)`, also
/// inside a dict), each {"path": its tensors' prefix, "class": "Conv1d",
/// "settings": its plain attributes (eps, stride, padding, ...)}, in the
/// pickle's order; an empty array for a state_dict.
llvm::Expected<llvm::json::Value> parseTorchModules(llvm::StringRef bytes,
                                                    const std::string &path);

} // namespace heed::rt

#endif
