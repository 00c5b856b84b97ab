// Node attributes: a small typed map, validated against the op schema.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace mixq::ir {

enum class AttrType { kInt, kFloat, kString, kInts, kFloats };
const char* AttrTypeName(AttrType type);

using AttrValue = std::variant<int64_t, float, std::string, std::vector<int64_t>, std::vector<float>>;
inline AttrType TypeOf(const AttrValue& v) { return static_cast<AttrType>(v.index()); }

class AttrMap {
 public:
  void Set(const std::string& name, AttrValue value) { values_[name] = std::move(value); }
  bool Has(const std::string& name) const { return values_.count(name) != 0; }
  const AttrValue* Find(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() ? nullptr : &it->second;
  }
  // Typed reads. The schema fills every default before kernels run, so a
  // missing or mistyped attribute returns `fallback` only for robustness.
  int64_t Int(const std::string& name, int64_t fallback = 0) const { return Get(name, fallback); }
  float Float(const std::string& name, float fallback = 0.0f) const { return Get(name, fallback); }
  std::string Str(const std::string& name, const std::string& fallback = "") const {
    return Get(name, fallback);
  }
  std::vector<int64_t> Ints(const std::string& name, const std::vector<int64_t>& fallback = {}) const {
    return Get(name, fallback);
  }
  std::vector<float> Floats(const std::string& name, const std::vector<float>& fallback = {}) const {
    return Get(name, fallback);
  }
  const std::map<std::string, AttrValue>& values() const { return values_; }

 private:
  template <typename T>
  T Get(const std::string& name, const T& fallback) const {
    auto it = values_.find(name);
    if (it == values_.end()) return fallback;
    if (const T* v = std::get_if<T>(&it->second)) return *v;
    return fallback;
  }
  std::map<std::string, AttrValue> values_;
};

}  // namespace mixq::ir
