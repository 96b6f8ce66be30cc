//===- TensorFileTest.cpp - .npy/.npz/.safetensors readers and writers ----===//
//
// Part of Heed. Round trips, reference files (bytes as NumPy writes them)
// and malformed files: each must give a clear error naming what is wrong.
//
//===----------------------------------------------------------------------===//

#include "runtime/Npy.h"
#include "runtime/Npz.h"
#include "runtime/Safetensors.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <zlib.h>

using namespace heed::rt;

namespace {

std::string tempPath(const std::string &name) {
  llvm::SmallString<128> dir;
  llvm::sys::fs::createUniqueDirectory("heed-rt", dir);
  return (dir + "/" + name).str();
}

std::string readBytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

Tensor iota(std::vector<int64_t> shape) {
  Tensor t(std::move(shape));
  for (int64_t i = 0; i < t.numElements(); ++i)
    t[i] = float(i) * 0.5f - 1.0f;
  return t;
}

template <typename T> std::string errorOf(llvm::Expected<T> value) {
  EXPECT_FALSE(bool(value));
  return value ? "" : llvm::toString(value.takeError());
}

/// A NumPy-written header for a '<f4' array of shape (2, 3).
std::string numpyHeader(const std::string &descr, const std::string &shape) {
  std::string dict = "{'descr': '" + descr +
                     "', 'fortran_order': False, 'shape': " + shape + ", }";
  dict.append((64 - (10 + dict.size() + 1) % 64) % 64, ' ');
  dict += '\n';
  std::string out = "\x93NUMPY\x01";
  out += '\0';
  out += char(dict.size() & 0xff);
  out += char(dict.size() >> 8);
  return out + dict;
}

/// A safetensors file: `header` and `dataBytes` zero bytes of data.
std::string file(const std::string &header, size_t dataBytes) {
  std::string bytes;
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i)
    bytes += char((n >> (8 * i)) & 0xff);
  return bytes + header + std::string(dataBytes, '\0');
}

/// The error parsing a safetensors file of `header` and `dataBytes` bytes.
std::string safetensorsError(const std::string &header, size_t dataBytes,
                             const std::string &name = "w.safetensors") {
  return errorOf(parseSafetensors(file(header, dataBytes), name));
}

} // namespace

TEST(Npy, RoundTrip) {
  Tensor t = iota({2, 3, 4});
  auto back = parseNpy(encodeNpy(t), "t.npy");
  ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError());
  EXPECT_EQ(back->shape(), t.shape());
  for (int64_t i = 0; i < t.numElements(); ++i)
    EXPECT_EQ((*back)[i], t[i]);
}

TEST(Npy, ReadsNumpyBytesAndOneDimShapes) {
  float data[3] = {1.5f, -2.0f, 3.25f};
  std::string bytes = numpyHeader("<f4", "(3,)");
  bytes.append(reinterpret_cast<char *>(data), sizeof(data));
  auto t = parseNpy(bytes, "v.npy");
  ASSERT_TRUE(bool(t)) << llvm::toString(t.takeError());
  EXPECT_EQ(t->shape(), std::vector<int64_t>{3});
  EXPECT_EQ((*t)[2], 3.25f);
}

TEST(Npy, ConvertsFloat16) {
  uint16_t data[2] = {0x3c00, 0xc000}; // 1.0, -2.0
  std::string bytes = numpyHeader("<f2", "(2,)");
  bytes.append(reinterpret_cast<char *>(data), sizeof(data));
  auto t = parseNpy(bytes, "h.npy");
  ASSERT_TRUE(bool(t));
  EXPECT_EQ((*t)[0], 1.0f);
  EXPECT_EQ((*t)[1], -2.0f);
}

// Token ids, lengths and masks as NumPy and PyTorch write them: read
// exactly, written back as int64; integers float32 cannot hold are errors
// naming the element and its byte offset.
TEST(Npy, ReadsIntegersAndBoolsExactly) {
  int64_t ids[3] = {0, 16777216, -5};
  std::string bytes = numpyHeader("<i8", "(3,)");
  size_t dataStart = bytes.size();
  bytes.append(reinterpret_cast<char *>(ids), sizeof(ids));
  auto t = parseNpy(bytes, "ids.npy");
  ASSERT_TRUE(bool(t)) << llvm::toString(t.takeError());
  EXPECT_EQ((*t)[1], 16777216.0f);
  EXPECT_EQ((*t)[2], -5.0f);
  EXPECT_EQ(t->elementType(), ElementType::I64);
  EXPECT_EQ(parseNpy(encodeNpy(*t), "again.npy")->elementType(), ElementType::I64);
  EXPECT_EQ(encodeNpy(*t).substr(dataStart), bytes.substr(dataStart));

  ids[1] = 16777217;
  bytes = numpyHeader("<i8", "(3,)");
  bytes.append(reinterpret_cast<char *>(ids), sizeof(ids));
  std::string err = errorOf(parseNpy(bytes, "ids.npy"));
  EXPECT_NE(err.find("ids.npy: element 1 (byte offset " +
                     std::to_string(dataStart + 8) + ") is 16777217, outside "
                     "the integers Heed computes with exactly"),
            std::string::npos)
      << err;
  // Read for weights: the tensor, with the same error kept for its use.
  auto kept = parseNpy(bytes, "ids.npy", ValueErrors::WhenUsed);
  ASSERT_TRUE(bool(kept)) << llvm::toString(kept.takeError());
  EXPECT_EQ(kept->valueError(), err);
  EXPECT_EQ(Tensor(*kept).valueError(), err);

  int32_t lengths[2] = {30, 7};
  bytes = numpyHeader("<i4", "(2,)");
  bytes.append(reinterpret_cast<char *>(lengths), sizeof(lengths));
  EXPECT_EQ((*parseNpy(bytes, "l.npy"))[1], 7.0f);
  bytes = numpyHeader("|b1", "(3,)") + std::string("\x01\x00\x01", 3);
  auto mask = parseNpy(bytes, "m.npy");
  ASSERT_TRUE(bool(mask));
  EXPECT_EQ((*mask)[0], 1.0f);
  EXPECT_EQ((*mask)[1], 0.0f);
  EXPECT_EQ(mask->elementType(), ElementType::Bool);
  bytes = numpyHeader(">i8", "(1,)") + std::string(8, '\0');
  EXPECT_NE(errorOf(parseNpy(bytes, "be.npy")).find("dtype '>i8' is not supported"),
            std::string::npos);
}

TEST(Safetensors, ReadsAndWritesInt64) {
  int64_t ids[2] = {3, -16777216};
  std::string header = R"({"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}})";
  std::string bytes = file(header, 0);
  bytes.append(reinterpret_cast<char *>(ids), sizeof(ids));
  auto tensors = parseSafetensors(bytes, "t.safetensors");
  ASSERT_TRUE(bool(tensors)) << llvm::toString(tensors.takeError());
  EXPECT_EQ((*tensors)[0].second[1], -16777216.0f);
  EXPECT_EQ((*tensors)[0].second.elementType(), ElementType::I64);
  std::string path = tempPath("ids.safetensors");
  ASSERT_FALSE(bool(writeSafetensors(path, *tensors)));
  std::string written = readBytes(path);
  EXPECT_NE(written.find(R"("dtype":"I64")"), std::string::npos);
  EXPECT_EQ(written.substr(written.size() - 16), bytes.substr(bytes.size() - 16));
  ids[0] = int64_t(1) << 40;
  bytes = file(header, 0);
  bytes.append(reinterpret_cast<char *>(ids), sizeof(ids));
  std::string err = errorOf(parseSafetensors(bytes, "t.safetensors"));
  EXPECT_NE(err.find("t.safetensors: tensor 'ids': element 0"), std::string::npos) << err;
  EXPECT_NE(err.find("is 1099511627776, outside the integers"), std::string::npos) << err;
}

TEST(Npy, RejectsWrongDtype) {
  std::string bytes = numpyHeader("<c8", "(2,)") + std::string(16, '\0');
  EXPECT_NE(errorOf(parseNpy(bytes, "c.npy"))
                .find("c.npy: dtype '<c8' is not supported"),
            std::string::npos);
}

// float64 (NumPy's default) is rounded to float32, NaN and infinities
// kept; a finite value beyond float32's range is an error at its offset.
TEST(Npy, ReadsFloat64) {
  double values[4] = {0.1, -1e-50, std::numeric_limits<double>::infinity(),
                      std::nan("")};
  std::string bytes = numpyHeader("<f8", "(4,)");
  bytes.append(reinterpret_cast<char *>(values), sizeof(values));
  auto t = parseNpy(bytes, "d.npy");
  ASSERT_TRUE(bool(t)) << llvm::toString(t.takeError());
  EXPECT_EQ(t->elementType(), ElementType::F64);
  EXPECT_EQ((*t)[0], 0.1f);
  EXPECT_EQ((*t)[1], -0.0f);
  EXPECT_TRUE(std::isinf((*t)[2]) && (*t)[2] > 0);
  EXPECT_TRUE(std::isnan((*t)[3]));
  values[2] = -1e39;
  bytes = numpyHeader("<f8", "(4,)");
  bytes.append(reinterpret_cast<char *>(values), sizeof(values));
  std::string err = errorOf(parseNpy(bytes, "d.npy"));
  EXPECT_NE(err.find("d.npy: element 2 (byte offset 144) is -1e+39, "
                     "beyond float32's range"),
            std::string::npos)
      << err;
}

TEST(Npy, RejectsTruncatedData) {
  std::string bytes = numpyHeader("<f4", "(2, 3)") + std::string(20, '\0');
  std::string err = errorOf(parseNpy(bytes, "x.npy"));
  EXPECT_NE(err.find("truncated data: shape [2, 3] needs 24 bytes at byte offset 128, only 20 present"),
            std::string::npos) << err;
}

TEST(Npy, RejectsTrailingBytesAndBadMagic) {
  std::string bytes = numpyHeader("<f4", "(1,)") + std::string(8, '\0');
  EXPECT_NE(errorOf(parseNpy(bytes, "x.npy")).find("4 bytes after the data"),
            std::string::npos);
  EXPECT_NE(errorOf(parseNpy("hello world!", "x.npy")).find("bad magic"),
            std::string::npos);
  EXPECT_NE(errorOf(parseNpy(bytes.substr(0, 30), "x.npy")).find("truncated header"),
            std::string::npos);
}

TEST(Npy, RejectsFortranOrderAndBadShape) {
  std::string f = numpyHeader("<f4", "(1,)");
  f.replace(f.find("False"), 5, "True ");
  EXPECT_NE(errorOf(parseNpy(f + std::string(4, '\0'), "x.npy")).find("Fortran"),
            std::string::npos);
  std::string s = numpyHeader("<f4", "(a, 2)") + std::string(8, '\0');
  EXPECT_NE(errorOf(parseNpy(s, "x.npy")).find("malformed shape"), std::string::npos);
}

TEST(Npz, StoredRoundTrip) {
  std::string path = tempPath("t.npz");
  NamedTensors in;
  in.emplace_back("a", iota({2, 2}));
  in.emplace_back("dense.weight", iota({3, 5}));
  ASSERT_FALSE(bool(writeNpz(path, in)));
  auto out = parseNpz(readBytes(path), path);
  ASSERT_TRUE(bool(out)) << llvm::toString(out.takeError());
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ((*out)[1].first, "dense.weight");
  EXPECT_EQ((*out)[1].second.shape(), (std::vector<int64_t>{3, 5}));
  EXPECT_EQ((*out)[1].second[14], iota({3, 5})[14]);
}

/// Builds a one-member zip whose member is deflated (np.savez_compressed).
static std::string deflatedNpz(const std::string &member, const std::string &name) {
  z_stream zs{};
  deflateInit2(&zs, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(compressBound(member.size()) + 64, '\0');
  zs.next_in = (Bytef *)member.data();
  zs.avail_in = member.size();
  zs.next_out = (Bytef *)out.data();
  zs.avail_out = out.size();
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  uint32_t crc = crc32(0, (const Bytef *)member.data(), member.size());
  auto le = [](std::string &s, uint64_t v, int n) {
    for (int i = 0; i < n; ++i)
      s += char((v >> (8 * i)) & 0xff);
  };
  std::string zip, cd;
  le(zip, 0x04034b50, 4); le(zip, 20, 2); le(zip, 0, 2); le(zip, 8, 2);
  le(zip, 0, 4); le(zip, crc, 4); le(zip, out.size(), 4);
  le(zip, member.size(), 4); le(zip, name.size(), 2); le(zip, 0, 2);
  zip += name + out;
  le(cd, 0x02014b50, 4); le(cd, 20, 2); le(cd, 20, 2); le(cd, 0, 2);
  le(cd, 8, 2); le(cd, 0, 4); le(cd, crc, 4); le(cd, out.size(), 4);
  le(cd, member.size(), 4); le(cd, name.size(), 2); le(cd, 0, 2);
  le(cd, 0, 2); le(cd, 0, 2); le(cd, 0, 2); le(cd, 0, 4); le(cd, 0, 4);
  cd += name;
  size_t cdOffset = zip.size();
  zip += cd;
  le(zip, 0x06054b50, 4); le(zip, 0, 4); le(zip, 1, 2); le(zip, 1, 2);
  le(zip, cd.size(), 4); le(zip, cdOffset, 4); le(zip, 0, 2);
  return zip;
}

TEST(Npz, ReadsDeflated) {
  Tensor t = iota({4, 8});
  auto out = parseNpz(deflatedNpz(encodeNpy(t), "x.npy"), "c.npz");
  ASSERT_TRUE(bool(out)) << llvm::toString(out.takeError());
  EXPECT_EQ((*out)[0].first, "x");
  EXPECT_EQ((*out)[0].second[31], t[31]);
}

TEST(Npz, RejectsCorruptArchives) {
  std::string zip = deflatedNpz(encodeNpy(iota({4, 8})), "x.npy");
  std::string flipped = zip;
  flipped[60] ^= 0x55; // inside the deflate stream
  std::string err = errorOf(parseNpz(flipped, "c.npz"));
  EXPECT_TRUE(err.find("c.npz: member 'x.npy'") != std::string::npos) << err;
  EXPECT_NE(errorOf(parseNpz("not a zip at all, no directory", "n.npz"))
                .find("no end-of-central-directory"),
            std::string::npos);
  std::string truncated = zip.substr(0, 40) + zip.substr(zip.size() - 80);
  EXPECT_FALSE(bool(parseNpz(truncated, "t.npz")));
  consumeError(parseNpz(truncated, "t.npz").takeError());
}

TEST(Safetensors, RoundTripAndHalfTypes) {
  std::string path = tempPath("w.safetensors");
  NamedTensors in;
  in.emplace_back("layer.weight", iota({2, 3}));
  in.emplace_back("layer.bias", iota({2}));
  ASSERT_FALSE(bool(writeSafetensors(path, in)));
  auto out = parseSafetensors(readBytes(path), path);
  ASSERT_TRUE(bool(out)) << llvm::toString(out.takeError());
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ((*out)[0].first, "layer.weight");
  EXPECT_EQ((*out)[0].second[5], iota({2, 3})[5]);

  std::string header = R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},)"
                       R"("b":{"dtype":"BF16","shape":[1],"data_offsets":[4,6]}})";
  std::string bytes;
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i)
    bytes += char((n >> (8 * i)) & 0xff);
  bytes += header;
  bytes += std::string("\x00\x3c\x00\xc0", 4); // 1.0, -2.0 in f16
  bytes += std::string("\x40\x40", 2);         // 3.0 in bf16
  auto half = parseSafetensors(bytes, "h.safetensors");
  ASSERT_TRUE(bool(half)) << llvm::toString(half.takeError());
  EXPECT_EQ((*half)[0].second[1], -2.0f);
  EXPECT_EQ((*half)[1].second[0], 3.0f);
}

TEST(Safetensors, RejectsLyingHeaders) {
  std::string err = safetensorsError(
      R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}})", 16, "w.safetensors");
  EXPECT_NE(err.find("w.safetensors: tensor 'w': data_offsets [0, 24) run past the data section"),
            std::string::npos) << err;
  err = safetensorsError(
      R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})", 24, "w.safetensors");
  EXPECT_NE(err.find("shape [2, 3] of F32 needs 24 bytes, data_offsets give 20"),
            std::string::npos) << err;
  err = safetensorsError(
      R"({"w":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})", 1, "w.safetensors");
  EXPECT_NE(err.find("dtype F8_E4M3 is not supported"), std::string::npos) << err;
  err = safetensorsError("{not json", 0);
  EXPECT_NE(err.find("header is not valid JSON"), std::string::npos) << err;
  std::string huge = std::string("\xff\xff\xff\x00\x00\x00\x00\x00", 8) + "{}";
  err = errorOf(parseSafetensors(huge, "w.safetensors"));
  EXPECT_NE(err.find("exceeds the file size"), std::string::npos) << err;
}

// Found by fuzzing and review (issue 10): sizes and offsets that wrap, and
// headers that would exhaust the stack or memory.
TEST(Npy, RejectsShapesWhoseByteCountWraps) {
  // 2^62 elements of 4 bytes: the byte count wraps to 0 in 64 bits.
  std::string bytes = numpyHeader("<f4", "(2147483648, 2147483648)");
  std::string err = errorOf(parseNpy(bytes + std::string(64, '\0'), "w.npy"));
  EXPECT_NE(err.find("w.npy: shape [2147483648, 2147483648] is too large"),
            std::string::npos) << err;
  // A dimension of 0 with a huge other one: no data, but no sane shape.
  err = errorOf(parseNpy(numpyHeader("<f4", "(0, 99999999999999999)"), "z.npy"));
  EXPECT_NE(err.find("z.npy: shape [0, 99999999999999999]: dimension 1 is above the limit"),
            std::string::npos) << err;
}

TEST(Safetensors, RejectsWrappingOverlappingAndDuplicatedTensors) {
  std::string err = safetensorsError(
      R"({"w":{"dtype":"F32","shape":[2147483648,2147483648],"data_offsets":[0,0]}})", 64, "w.safetensors");
  EXPECT_NE(err.find("tensor 'w': shape [2147483648, 2147483648] is too large"),
            std::string::npos) << err;
  err = safetensorsError(
      R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
           R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", 16, "o.safetensors");
  EXPECT_NE(err.find("tensor 'b': data_offsets [8, 16) overlap those of tensor 'a'"),
            std::string::npos) << err;
  err = safetensorsError(
      R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
           R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8, "d.safetensors");
  EXPECT_NE(err.find("header names tensor 'a' twice"), std::string::npos) << err;
  // A key repeated inside a tensor's entry is not a duplicated tensor.
  auto fine = parseSafetensors(
      file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
           R"("__metadata__":{"a":"x"}})", 4),
      "m.safetensors");
  EXPECT_TRUE(bool(fine)) << llvm::toString(fine.takeError());
  std::string deep = "{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  err = safetensorsError(deep, 0, "n.safetensors");
  EXPECT_NE(err.find("header nests arrays/objects deeper than 200 levels"),
            std::string::npos) << err;
}

TEST(Npz, RejectsOffsetsThatWrapAndImplausibleSizes) {
  std::string zip = deflatedNpz(encodeNpy(iota({4, 8})), "x.npy");
  auto le = [](std::string &s, size_t at, uint64_t v, int n) {
    for (int i = 0; i < n; ++i)
      s[at + i] = char((v >> (8 * i)) & 0xff);
  };
  size_t eocd = zip.size() - 22, cd = zip.size() - 22 - (46 + 5);
  // A local-header offset near 2^32 and an inflated size of 4 GiB.
  std::string badLocal = zip;
  le(badLocal, cd + 42, 0xfffffff0u, 4);
  EXPECT_NE(errorOf(parseNpz(badLocal, "l.npz")).find("bad local header"),
            std::string::npos);
  std::string bomb = zip;
  le(bomb, cd + 24, 0xfffffff0u, 4);
  std::string err = errorOf(parseNpz(bomb, "b.npz"));
  EXPECT_NE(err.find("not possible for deflate"), std::string::npos) << err;
  // zip64: a locator pointing at 2^64 - 8 (z64 + 56 wraps).
  std::string z64 = zip.substr(0, eocd);
  std::string locator;
  for (uint64_t v : {uint64_t(0x07064b50), uint64_t(0)})
    for (int i = 0; i < 4; ++i)
      locator += char((v >> (8 * i)) & 0xff);
  for (int i = 0; i < 8; ++i)
    locator += char(0xff - (i == 0 ? 7 : 0));
  locator += std::string("\x01\x00\x00\x00", 4);
  std::string tail = zip.substr(eocd);
  le(tail, 16, 0xffffffffu, 4); // cdOffset: look for zip64
  err = errorOf(parseNpz(z64 + locator + tail, "z.npz"));
  EXPECT_NE(err.find("bad zip64 end-of-central-directory"), std::string::npos) << err;
  // A directory claiming more entries than it can hold.
  std::string many = zip;
  le(many, eocd + 10, 0xfff0, 2);
  err = errorOf(parseNpz(many, "m.npz"));
  EXPECT_NE(err.find("claims 65520 members"), std::string::npos) << err;
}
