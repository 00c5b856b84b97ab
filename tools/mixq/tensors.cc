#include "tensors.h"

#include <cctype>
#include <cstring>
#include <map>
#include <random>

#include "cli.h"
#include "util/element.h"
#include "util/half.h"
#include "util/status_util.h"

namespace mixq::cli {

namespace {

bool IsFloat(DataType t) {
  return t == DataType::FLOAT32 || t == DataType::FLOAT16 || t == DataType::BFLOAT16;
}

double ReadElement(DataType type, const uint8_t* p) {
  return ElementAsDouble(type, p);
}

void WriteElement(DataType type, double value, uint8_t* p) {
  switch (type) {
    case DataType::FLOAT32: {
      float v = static_cast<float>(value);
      std::memcpy(p, &v, 4);
      break;
    }
    case DataType::FLOAT16: {
      uint16_t v = FloatToHalf(static_cast<float>(value));
      std::memcpy(p, &v, 2);
      break;
    }
    case DataType::BFLOAT16: {
      uint16_t v = FloatToBFloat16(static_cast<float>(value));
      std::memcpy(p, &v, 2);
      break;
    }
    case DataType::INT8:
      *p = static_cast<uint8_t>(static_cast<int8_t>(value));
      break;
    case DataType::UINT8:
      *p = static_cast<uint8_t>(value);
      break;
    case DataType::BOOL:
      *p = value != 0;
      break;
    case DataType::INT16: {
      int16_t v = static_cast<int16_t>(value);
      std::memcpy(p, &v, 2);
      break;
    }
    case DataType::INT32: {
      int32_t v = static_cast<int32_t>(value);
      std::memcpy(p, &v, 4);
      break;
    }
    case DataType::INT64: {
      int64_t v = static_cast<int64_t>(value);
      std::memcpy(p, &v, 8);
      break;
    }
    default:
      break;
  }
}

// QINT inputs take float32 data at run time (SPEC §2).
DataType HostType(DataType t) {
  return t == DataType::QINT8 || t == DataType::QINT16 ? DataType::FLOAT32 : t;
}

}  // namespace

Status LoadModel(const std::string& path, std::unique_ptr<IModel>* model) {
  *model = CreateIModel();
  return (*model)->DeserializeFromFile(path);
}

Status ConvertArray(const NpyArray& array, DataType type, const std::string& what, HostTensor* out) {
  type = HostType(type);
  out->type = type;
  out->dims = Dims(array.shape);
  const size_t count = static_cast<size_t>(out->dims.GetElementCount());
  if (array.dtype == type) {
    out->bytes = array.bytes;
    return Status::OK();
  }
  // Integer data into a float input is fine (images as uint8); float data
  // into an integer input would silently truncate, so it is refused.
  if (IsFloat(array.dtype) && !IsFloat(type))
    return InvalidArgument(what, ": the model takes ", DataTypeName(type), " but the file holds ",
                           DataTypeName(array.dtype));
  const size_t in_size = DataTypeSize(array.dtype), out_size = DataTypeSize(type);
  if (array.bytes.size() < count * in_size)
    return InvalidArgument(what, ": the array holds fewer bytes than its shape says");
  out->bytes.assign(count * out_size, 0);
  for (size_t i = 0; i < count; ++i)
    WriteElement(type, ReadElement(array.dtype, &array.bytes[i * in_size]), &out->bytes[i * out_size]);
  return Status::OK();
}

Status LoadInputs(const std::vector<std::string>& flags, const std::vector<std::string>& names,
                  const std::vector<DataType>& types, std::vector<HostTensor>* inputs) {
  std::map<std::string, std::string> files;
  for (const auto& flag : flags) {
    std::string name, file;
    auto eq = flag.find('=');
    if (eq == std::string::npos) {
      if (names.size() != 1)
        return InvalidArgument("--input '", flag, "': the model has ", names.size(), " inputs, write NAME=FILE.npy");
      name = names[0];
      file = flag;
    } else {
      name = flag.substr(0, eq);
      file = flag.substr(eq + 1);
    }
    bool known = false;
    for (const auto& n : names) known = known || n == name;
    if (!known) {
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "" : ", ") + ("'" + n + "'");
      return InvalidArgument("--input: the model has no input '", name, "' (inputs: ", list, ")");
    }
    if (files.count(name)) return InvalidArgument("--input: input '", name, "' given twice");
    files[name] = file;
  }
  inputs->clear();
  for (size_t i = 0; i < names.size(); ++i) {
    auto it = files.find(names[i]);
    if (it == files.end()) return InvalidArgument("no --input for model input '", names[i], "'");
    NpyArray array;
    MIXQ_RETURN_IF_ERROR(WithContext(ReadNpy(it->second, &array), StrCat("input '", names[i], "'")));
    HostTensor t;
    t.name = names[i];
    MIXQ_RETURN_IF_ERROR(ConvertArray(array, types[i], StrCat("input '", names[i], "' (", it->second, ")"), &t));
    inputs->push_back(std::move(t));
  }
  return Status::OK();
}

Status ResolveInputDims(const std::vector<std::string>& shape_flags, const std::vector<std::string>& names,
                        const std::vector<Dims>& declared, std::vector<Dims>* dims) {
  *dims = declared;
  for (const auto& flag : shape_flags) {
    std::string name;
    Dims d;
    MIXQ_RETURN_IF_ERROR(ParseNamedDims(flag, "shape", &name, &d));
    size_t i = 0;
    while (i < names.size() && names[i] != name) ++i;
    if (i == names.size()) return InvalidArgument("--shape: the model has no input '", name, "'");
    if (d.GetDimsNum() != declared[i].GetDimsNum())
      return InvalidArgument("--shape ", name, ": ", d.GetDimsNum(), " dims given, the input has ",
                             declared[i].GetDimsNum(), " ", declared[i].ToString());
    for (int64_t k = 0; k < d.GetDimsNum(); ++k)
      if (declared[i][k] != -1 && declared[i][k] != d[k])
        return InvalidArgument("--shape ", name, ": dim ", k, " is fixed at ", declared[i][k], " in the model, not ",
                               d[k]);
    (*dims)[i] = d;
  }
  for (size_t i = 0; i < names.size(); ++i)
    if ((*dims)[i].HasDynamicDim())
      return InvalidArgument("input '", names[i], "' has dynamic dims ", (*dims)[i].ToString(), ": give --shape ",
                             names[i], ":DIMS");
  return Status::OK();
}

void RandomInputs(const std::vector<std::string>& names, const std::vector<DataType>& types,
                  const std::vector<Dims>& dims, uint64_t seed, std::vector<HostTensor>* inputs) {
  // mt19937_64's output is fixed by the standard; the distributions are not.
  std::mt19937_64 rng(seed);
  inputs->clear();
  for (size_t i = 0; i < names.size(); ++i) {
    HostTensor t;
    t.name = names[i];
    t.type = HostType(types[i]);
    t.dims = dims[i];
    const size_t count = static_cast<size_t>(t.dims.GetElementCount()), size = DataTypeSize(t.type);
    t.bytes.assign(count * size, 0);
    if (IsFloat(t.type))
      for (size_t k = 0; k < count; ++k)
        WriteElement(t.type, static_cast<double>(rng() >> 40) / static_cast<double>(1 << 23) - 1.0, &t.bytes[k * size]);
    inputs->push_back(std::move(t));
  }
}

Status RunOnce(IContext* context, std::vector<HostTensor>* inputs, std::vector<std::unique_ptr<IRTTensor>>* in_tensors,
               std::vector<std::unique_ptr<IRTTensor>>* out_tensors) {
  if (in_tensors->empty()) {
    MIXQ_RETURN_IF_ERROR(context->CreateInputTensors(in_tensors));
    MIXQ_RETURN_IF_ERROR(context->CreateOutputTensors(out_tensors));
  }
  if (in_tensors->size() != inputs->size())
    return Internal("the context has ", in_tensors->size(), " inputs, ", inputs->size(), " were given");
  for (size_t i = 0; i < inputs->size(); ++i) {
    HostTensor& h = (*inputs)[i];
    IRTTensor* t = (*in_tensors)[i].get();
    MIXQ_RETURN_IF_ERROR(WithContext(t->SetDimensions(h.dims), StrCat("input '", h.name, "'")));
    MIXQ_RETURN_IF_ERROR(WithContext(t->SetData(h.bytes.data(), h.bytes.size()), StrCat("input '", h.name, "'")));
  }
  return context->Enqueue(*in_tensors, *out_tensors);
}

Status ToFloat(const IRTTensor& tensor, std::vector<float>* values) {
  const int64_t count = tensor.GetDimensions().GetElementCount();
  const DataType type = tensor.GetDataType();
  const size_t size = DataTypeSize(type);
  if (count < 0 || tensor.GetSize() < static_cast<size_t>(count) * size || (count > 0 && !tensor.GetData()))
    return Internal("output '", tensor.GetName(), "' has no data for dims ", tensor.GetDimensions().ToString());
  values->resize(static_cast<size_t>(count));
  const uint8_t* p = static_cast<const uint8_t*>(tensor.GetData());
  for (size_t i = 0; i < values->size(); ++i) (*values)[i] = static_cast<float>(ReadElement(type, p + i * size));
  return Status::OK();
}

Status WriteTensorNpy(const std::string& path, const IRTTensor& tensor) {
  const DataType type = tensor.GetDataType();
  if (type == DataType::BFLOAT16 || type == DataType::QINT8 || type == DataType::QINT16) {
    std::vector<float> values;
    MIXQ_RETURN_IF_ERROR(ToFloat(tensor, &values));
    return WriteNpy(path, DataType::FLOAT32, tensor.GetDimensions().GetDims(), values.data());
  }
  return WriteNpy(path, type, tensor.GetDimensions().GetDims(), tensor.GetData());
}

std::string FileNameFor(const std::string& tensor_name) {
  std::string out = tensor_name;
  for (char& c : out)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) c = '_';
  if (out.empty() || out == "." || out == "..") out = "_" + out;
  return out;
}

}  // namespace mixq::cli
