// GCC 12's AVX-512 headers (_mm512_cvtps_ph, _mm512_set1_ps, ...) trip
// -Wmaybe-uninitialized (and, on arrays of vectors, -Wuninitialized) on
// their own undefined-vector idiom (GCC bug 105593); clang has no such
// warning group. A file of AVX-512 intrinsics
// opens MIXQ_AVX512_WARNINGS_OFF after its includes and closes
// MIXQ_AVX512_WARNINGS_ON at its end.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#define MIXQ_AVX512_WARNINGS_OFF                                                             \
  _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"") \
      _Pragma("GCC diagnostic ignored \"-Wuninitialized\"")
#define MIXQ_AVX512_WARNINGS_ON _Pragma("GCC diagnostic pop")
#else
#define MIXQ_AVX512_WARNINGS_OFF
#define MIXQ_AVX512_WARNINGS_ON
#endif
