//===- Inflate.h - Deflated data of zip members and HDF5 chunks -*- C++ -*-===//
//
// Part of Heed. Zip archives (.npz, torch.save) deflate members as bare
// deflate streams; HDF5's deflate filter (h5py's "gzip") writes zlib
// streams. Both are inflated here, with zlib, into exactly the size their
// container states.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_INFLATE_H
#define HEED_RUNTIME_INFLATE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace heed::rt {

/// `in` inflated into exactly `outSize` bytes: a bare deflate stream with
/// `raw`, a zlib stream without. Data that is corrupt, or inflates to
/// another size, is an error "`what`: ..."; so are streams of 4 GiB or
/// more, in or out, which zlib's single call does not take.
llvm::Expected<std::string> inflateExactly(llvm::StringRef in, uint64_t outSize,
                                           bool raw, const std::string &what);

} // namespace heed::rt

#endif
