#include "util/half.h"

#include <cstring>

namespace mixq {

namespace {

uint32_t FloatBits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

float BitsFloat(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

constexpr uint32_t kFloatAbsMask = 0x7fffffffu;
constexpr uint32_t kFloatInf = 0x7f800000u;
constexpr uint32_t kFloatQuietBit = 0x00400000u;
// 65520 = 65504 + half an ulp: the first float that rounds to half infinity
// (the tie goes to the even neighbour, 2^16, which does not exist).
constexpr uint32_t kHalfOverflow = 0x477ff000u;
// 2^-14, the smallest normal half.
constexpr uint32_t kHalfMinNormal = 0x38800000u;
// Float exponent bias 127 minus half bias 15, in place.
constexpr uint32_t kRebias = (127u - 15u) << 23;

}  // namespace

uint16_t FloatToHalf(float value) {
  const uint32_t f = FloatBits(value);
  const uint16_t sign = static_cast<uint16_t>((f >> 16) & 0x8000u);
  const uint32_t abs = f & kFloatAbsMask;
  if (abs > kFloatInf)  // NaN: keep the top payload bits, force quiet so it cannot become inf
    return static_cast<uint16_t>(sign | 0x7e00u | ((abs >> 13) & 0x3ffu));
  if (abs >= kHalfOverflow) return static_cast<uint16_t>(sign | 0x7c00u);
  if (abs >= kHalfMinNormal) {
    // Adding 0xfff plus the lowest kept bit rounds to nearest even; a carry out
    // of the mantissa correctly bumps the exponent.
    const uint32_t rounded = abs + 0xfffu + ((abs >> 13) & 1u);
    return static_cast<uint16_t>(sign | ((rounded - kRebias) >> 13));
  }
  // Half subnormal (or zero): the result counts units of 2^-24.
  const uint32_t exponent = abs >> 23;
  if (exponent < 102) return sign;  // below 2^-25 (the tie with zero, which goes to zero)
  const uint32_t mantissa = (abs & 0x7fffffu) | 0x800000u;
  const uint32_t shift = 126u - exponent;  // 14..24
  uint32_t q = mantissa >> shift;
  const uint32_t rest = mantissa & ((1u << shift) - 1u);
  const uint32_t halfway = 1u << (shift - 1u);
  if (rest > halfway || (rest == halfway && (q & 1u))) ++q;  // may reach 0x400, the smallest normal
  return static_cast<uint16_t>(sign | q);
}

float HalfToFloat(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  const uint32_t exponent = (bits >> 10) & 0x1fu;
  uint32_t mantissa = bits & 0x3ffu;
  if (exponent == 0x1f)  // inf or NaN; a NaN comes back quiet
    return BitsFloat(sign | kFloatInf | (mantissa << 13) | (mantissa ? kFloatQuietBit : 0u));
  if (exponent != 0) return BitsFloat(sign | ((exponent << 23) + kRebias) | (mantissa << 13));
  if (mantissa == 0) return BitsFloat(sign);
  // Subnormal half: mantissa * 2^-24, normalized into a float.
  uint32_t float_exponent = 127 - 14;
  while ((mantissa & 0x400u) == 0) {
    mantissa <<= 1;
    --float_exponent;
  }
  return BitsFloat(sign | (float_exponent << 23) | ((mantissa & 0x3ffu) << 13));
}

uint16_t FloatToBFloat16(float value) {
  const uint32_t f = FloatBits(value);
  if ((f & kFloatAbsMask) > kFloatInf)  // NaN: truncating could clear every payload bit, so force quiet
    return static_cast<uint16_t>((f >> 16) | 0x40u);
  // Round to nearest even on the dropped 16 bits; overflow carries into inf.
  return static_cast<uint16_t>((f + 0x7fffu + ((f >> 16) & 1u)) >> 16);
}

float BFloat16ToFloat(uint16_t bits) {
  return BitsFloat(static_cast<uint32_t>(bits) << 16);
}

float RoundToHalf(float value) {
  return HalfToFloat(FloatToHalf(value));
}
float RoundToBFloat16(float value) {
  return BFloat16ToFloat(FloatToBFloat16(value));
}

}  // namespace mixq
