// .npy reading and writing: round trip and malformed files.
#include "util/npy.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

namespace mixq {
namespace {

TEST(Npy, RoundTripKeepsShapeTypeAndBytes) {
  const std::string path = ::testing::TempDir() + "/a.npy";
  std::vector<float> values = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, 8.0f};
  ASSERT_TRUE(WriteNpy(path, DataType::FLOAT32, {2, 3}, values.data()).ok());
  NpyArray array;
  ASSERT_TRUE(ReadNpy(path, &array).ok());
  EXPECT_EQ(array.dtype, DataType::FLOAT32);
  EXPECT_EQ(array.shape, (std::vector<int64_t>{2, 3}));
  ASSERT_EQ(array.bytes.size(), 24u);
  EXPECT_EQ(std::memcmp(array.bytes.data(), values.data(), 24), 0);
  std::vector<int64_t> one = {42};
  ASSERT_TRUE(WriteNpy(path, DataType::INT64, {1}, one.data()).ok());
  ASSERT_TRUE(ReadNpy(path, &array).ok());
  EXPECT_EQ(array.dtype, DataType::INT64);
  EXPECT_EQ(array.shape, (std::vector<int64_t>{1}));
}

TEST(Npy, MalformedFilesAreErrors) {
  NpyArray array;
  const uint8_t junk[] = "hello world, not numpy";
  EXPECT_EQ(ParseNpy(junk, sizeof(junk), &array).code(), StatusCode::INVALID_ARGUMENT);
  // A valid header whose payload is cut short.
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }";
  header.append(128 - 10 - header.size() - 1, ' ');
  header += '\n';
  std::string file = std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size()) + '\0' + header + "abcd";
  Status s = ParseNpy(reinterpret_cast<const uint8_t*>(file.data()), file.size(), &array);
  EXPECT_EQ(s.code(), StatusCode::DATA_LOSS) << s.ToString();
  // Unsupported dtype and Fortran order.
  std::string f8 = file;
  f8.replace(f8.find("<f4"), 3, "<c8");
  EXPECT_NE(ParseNpy(reinterpret_cast<const uint8_t*>(f8.data()), f8.size(), &array).message().find("<c8"),
            std::string::npos);
  std::string fortran = file;
  fortran.replace(fortran.find("False"), 5, "True ");
  EXPECT_NE(
      ParseNpy(reinterpret_cast<const uint8_t*>(fortran.data()), fortran.size(), &array).message().find("Fortran"),
      std::string::npos);
  // Every truncation of a good file is an error, never a crash.
  for (size_t n = 0; n + 4 < file.size(); ++n)
    EXPECT_FALSE(ParseNpy(reinterpret_cast<const uint8_t*>(file.data()), n, &array).ok()) << n;
}

}  // namespace
}  // namespace mixq
