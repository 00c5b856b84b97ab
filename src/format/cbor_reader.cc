#include "format/cbor_reader.h"

#include <string>
#include <utility>
#include <vector>

#include "util/status_util.h"

namespace mixq::format {

namespace {

using nlohmann::json;

// A SAX consumer that builds the DOM like nlohmann's own, but refuses to go
// deeper than kMaxCborDepth (returning false stops the recursive reader) and
// records errors instead of throwing.
class BoundedDomBuilder {
 public:
  explicit BoundedDomBuilder(json* root) : root_(root) {}

  bool null() { return Add(json(nullptr)); }
  bool boolean(bool v) { return Add(json(v)); }
  bool number_integer(json::number_integer_t v) { return Add(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return Add(json(v)); }
  bool number_float(json::number_float_t v, const json::string_t&) { return Add(json(v)); }
  bool string(json::string_t& v) { return Add(json(std::move(v))); }
  bool binary(json::binary_t& v) { return Add(json::binary(std::move(v))); }
  bool start_object(std::size_t) { return Open(json::object()); }
  bool key(json::string_t& k) {
    key_ = std::move(k);
    return true;
  }
  bool end_object() { return Close(); }
  bool start_array(std::size_t) { return Open(json::array()); }
  bool end_array() { return Close(); }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) {
    error_position_ = position;
    error_ = ex.what();
    return false;
  }

  bool too_deep() const { return too_deep_; }
  const std::string& error() const { return error_; }
  size_t error_position() const { return error_position_; }

 private:
  // Places `v` in the current container (or as the root) and returns it.
  json* Place(json&& v) {
    if (stack_.empty()) {
      *root_ = std::move(v);
      return root_;
    }
    json* top = stack_.back();
    if (top->is_array()) {
      top->push_back(std::move(v));
      return &top->back();
    }
    json& slot = (*top)[key_];  // a repeated key keeps the last value, as nlohmann does
    slot = std::move(v);
    return &slot;
  }
  bool Add(json&& v) {
    Place(std::move(v));
    return true;
  }
  bool Open(json&& container) {
    if (stack_.size() >= kMaxCborDepth) {
      too_deep_ = true;
      return false;
    }
    stack_.push_back(Place(std::move(container)));
    return true;
  }
  bool Close() {
    if (!stack_.empty()) stack_.pop_back();
    return true;
  }

  json* root_;
  std::vector<json*> stack_;
  std::string key_;
  bool too_deep_ = false;
  std::string error_;
  size_t error_position_ = 0;
};

}  // namespace

Status ParseCbor(const uint8_t* data, size_t size, size_t base_offset, json* out) {
  try {
    BoundedDomBuilder builder(out);
    const bool ok = json::sax_parse(data, data + size, &builder, json::input_format_t::cbor, /*strict=*/true);
    if (ok) return Status::OK();
    if (builder.too_deep())
      return DataLoss("metadata nests arrays or objects deeper than ", kMaxCborDepth,
                      " levels (the metadata starts at byte offset ", base_offset, ")");
    // nlohmann counts positions from 1: the byte at fault is position - 1.
    const size_t position = builder.error_position() > 0 ? builder.error_position() - 1 : 0;
    return DataLoss("metadata is not valid CBOR at byte offset ", base_offset + position, ": ", builder.error());
  } catch (const std::exception& e) {
    return DataLoss("metadata is not valid CBOR (starting at byte offset ", base_offset, "): ", e.what());
  }
}

}  // namespace mixq::format
