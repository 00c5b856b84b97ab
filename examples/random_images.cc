#include "random_images.h"

namespace mixq::examples {

Status RandomImages::Next() {
  if (done_ >= count_) return Status(StatusCode::OUT_OF_RANGE, "no more images");
  ++done_;
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  sample_.resize(static_cast<size_t>(dims_.GetElementCount()));
  for (float& v : sample_) v = dist(rng_);
  return Status::OK();
}

Status RandomImages::Reset() {
  done_ = 0;
  rng_.seed(seed_);
  return Status::OK();
}

}  // namespace mixq::examples
