//===- heed-opt.cpp - Heed's mlir-opt -------------------------------------===//
//
// Part of Heed. MlirOptMain with the attn dialect, Heed's passes and named
// pipelines, so every stage of the compiler can be reproduced from the
// command line (and tested with lit).
//
//===----------------------------------------------------------------------===//

#include "compiler/Pipelines/Registration.h"

#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  heed::registerHeedDialects(registry);
  heed::registerAllHeedPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "Heed optimizer driver\n", registry));
}
