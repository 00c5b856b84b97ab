#include "util/file_read.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <system_error>

#include "util/status_util.h"

namespace mixq {

namespace {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

template <typename Container>
Status ReadLimited(const std::string& path, int64_t max_bytes, const std::string& what, Container* bytes) {
  if (!bytes) return InvalidArgument("reading ", what, " '", path, "': null output");
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) return NotFound("cannot open ", what, " '", path, "': no such file");
  if (std::filesystem::is_directory(status)) return InvalidArgument(what, " '", path, "' is a directory, not a file");
  if (std::filesystem::is_regular_file(status)) {
    const auto size = std::filesystem::file_size(path, ec);
    if (!ec && size > static_cast<uintmax_t>(max_bytes))
      return InvalidArgument(what, " '", path, "' holds ", size, " bytes, more than the limit of ", max_bytes);
  }
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) return NotFound("cannot open ", what, " '", path, "': ", std::strerror(errno));
  bytes->clear();
  // Devices and pipes have no size: read in chunks and stop one past the limit.
  char chunk[1 << 16];
  int64_t total = 0;
  while (true) {
    const size_t got = std::fread(chunk, 1, sizeof(chunk), file.get());
    if (got == 0) break;
    total += static_cast<int64_t>(got);
    if (total > max_bytes) {
      bytes->clear();
      return InvalidArgument(what, " '", path, "' holds more than the limit of ", max_bytes,
                             " bytes (stopped reading there)");
    }
    bytes->insert(bytes->end(), chunk, chunk + got);
  }
  if (std::ferror(file.get())) return DataLoss("error reading ", what, " '", path, "'");
  return Status::OK();
}

}  // namespace

Status ReadFileLimited(const std::string& path, int64_t max_bytes, const std::string& what, std::string* bytes) {
  return ReadLimited(path, max_bytes, what, bytes);
}

Status ReadFileLimited(const std::string& path, int64_t max_bytes, const std::string& what,
                       std::vector<uint8_t>* bytes) {
  return ReadLimited(path, max_bytes, what, bytes);
}

Status CheckJsonDepth(const std::string& text, int max_depth, const std::string& what) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth)
        return InvalidArgument(what, " nests arrays / objects deeper than ", max_depth, " levels (at byte offset ", i,
                               ")");
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return Status::OK();
}

}  // namespace mixq
